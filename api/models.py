"""The schema registry: imports every model module so Base.metadata (and Alembic) sees all tables.

One line per module; tests/gateway/db/test_schema.py fails when a model and the migrations disagree.
"""
from api.auth import models as auth_models  # noqa: F401
from api.auth import two_factor_models  # noqa: F401
from api.cases import models as cases_models  # noqa: F401
from api.cases import ops_models as case_ops_models  # noqa: F401
from api.casework import models as casework_models  # noqa: F401
from api.channels.telegram import models as telegram_models  # noqa: F401
from api.channels.webchat import models as webchat_models  # noqa: F401
from api.channels.zalo import models as zalo_models  # noqa: F401
from api.content import models as content_models  # noqa: F401
from api.db.base import Base  # noqa: F401
from api.messaging import models as messaging_models  # noqa: F401
from api.privacy import models as privacy_models  # noqa: F401
