"""The printable one-page referral form (HTML styled for print by the console's casework-print.css)."""
from __future__ import annotations

from html import escape

FORM_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'none'")


def referral_form(lines: list[tuple[str, str]], status_label: str, stylesheet_url: str) -> str:
    """Every value escaped; the stylesheet is absolute so the page also styles itself when the
    console opens it from a blob: address."""
    rows = "\n".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in lines)
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Phiếu chuyển tuyến {escape(lines[0][1])}</title>
<link rel="stylesheet" href="{escape(stylesheet_url)}">
</head>
<body class="referral-form">
<header>
<h1>PHIẾU CHUYỂN TUYẾN HỖ TRỢ TRẺ EM</h1>
<p class="sub">Đường dây tư vấn bảo vệ trẻ em · Tổng đài quốc gia bảo vệ trẻ em 111 (miễn phí, 24/7)</p>
</header>
<table class="fields">
{rows}
<tr><th>Tình trạng</th><td>{escape(status_label)}</td></tr>
</table>
<section class="reply">
<h2>Phần phản hồi của nơi nhận</h2>
<p>Đã nhận ngày: ........../........../..........  Người nhận: ..............................................</p>
<p>Việc đã làm: ..................................................................................................</p>
<p>..................................................................................................................</p>
</section>
<footer>
<p>Thông tin trong phiếu là bí mật, chỉ dùng để hỗ trợ trẻ. Không sao chép, không chia sẻ thêm.</p>
<div class="signatures">
<p>Người chuyển<br><br><br>(ký, ghi rõ họ tên)</p>
<p>Người nhận<br><br><br>(ký, ghi rõ họ tên)</p>
</div>
</footer>
</body>
</html>
"""
