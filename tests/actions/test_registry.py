"""The action server loads the package the way `rasa run actions --actions actions` does."""
import yaml
from rasa_sdk.executor import ActionExecutor


def test_every_domain_action_is_registered_and_nothing_else():
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = set(executor.actions)
    with open("domain.yml", encoding="utf-8") as handle:
        domain_actions = set(yaml.safe_load(handle)["actions"])
    assert registered == domain_actions
