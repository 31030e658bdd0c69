"""What the gateway tells a child or parent about their data (edited in the content console)."""
from __future__ import annotations

from api.messaging.texts import UserText

ERASE_ASK = UserText(
    "utter_privacy_erase_ask",
    "Bạn muốn mình xoá dữ liệu của bạn phải không? Mình sẽ xoá toàn bộ tin nhắn giữa bạn và mình, "
    "việc bạn đăng ký nhận tin, bài đố vui đang làm và những gì trợ lý nhớ về cuộc trò chuyện. "
    "Xoá rồi thì không lấy lại được. Chỉ còn lại một con số thống kê, không có tên hay tin nhắn nào.\n\n"
    "Bạn chọn “Đồng ý xoá” hoặc nhắn “đồng ý” để xoá, hoặc “Không” để giữ nguyên. "
    "Nếu bạn cần giúp ngay, hãy gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
ERASE_DONE = UserText(
    "utter_privacy_erase_done",
    "Mình đã xoá dữ liệu của bạn rồi. Nếu bạn nhắn tiếp, mình sẽ bắt đầu lại như lần đầu gặp nhau. "
    "Khi cần giúp, bạn cứ nhắn cho mình hoặc gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
ERASE_CANCELLED = UserText(
    "utter_privacy_erase_cancelled",
    "Được rồi, mình không xoá gì cả. Bạn cứ nhắn cho mình khi cần nhé.",
)
ERASE_NOTHING_PENDING = UserText(
    "utter_privacy_erase_nothing_pending",
    "Hiện không có yêu cầu xoá nào đang chờ. Muốn xoá dữ liệu, bạn nhắn “xoá dữ liệu của em” nhé.",
)
ERASE_SUPERVISOR = UserText(
    "utter_privacy_erase_supervisor",
    "Mình đã ghi lại yêu cầu xoá dữ liệu của bạn. Vì tư vấn viên đang giúp bạn trong một chuyện quan trọng, "
    "mình chưa thể xoá ngay: một người phụ trách sẽ xem xét và mình sẽ báo lại cho bạn. "
    "Cần giúp ngay, hãy gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
ERASE_APPROVED = UserText(
    "utter_privacy_erase_approved",
    "Người phụ trách đã đồng ý xoá dữ liệu của bạn. Mình xoá ngay bây giờ. "
    "Khi cần giúp, bạn cứ nhắn cho mình hoặc gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
ERASE_DECLINED = UserText(
    "utter_privacy_erase_declined",
    "Người phụ trách chưa thể xoá dữ liệu của bạn lúc này, vì cần giữ lại để bảo vệ bạn an toàn. "
    "Dữ liệu vẫn được giữ kín, chỉ người giúp bạn mới xem được. Bạn có thể hỏi tư vấn viên thêm, "
    "hoặc gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
BROADCAST_CONSENT_CHILD = UserText(
    "utter_privacy_broadcast_consent",
    "Đăng ký nhận tin nghĩa là: thỉnh thoảng mình sẽ tự gửi cho bạn mẹo giữ an toàn và tin về hoạt động "
    "của chương trình. Mình chỉ giữ mã kênh để gửi tin, không cần tên hay số điện thoại của bạn. "
    "Bạn có thể nói với bố mẹ hoặc người lớn bạn tin. Muốn dừng, nhắn “dừng” bất cứ lúc nào. "
    "Cần giúp ngay, gọi 111 (miễn phí).",
)
