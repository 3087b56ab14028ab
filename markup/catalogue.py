"""Every sentence the bot says, in one place: Vietnamese first, English where the bot speaks it.

    from markup import catalogue as say
    await message.reply_text(say.ADMIN_ONLY.say())
    reply = say.COUNT_HOW.say(most=20, command="/latest")          # named fields, str.format
    menu = say.MENU_ASK.say("en")                                  # English for language "en"

An entry (:class:`Words`) holds a Vietnamese template (NFC) and, where the bot already speaks
English (the command menus, what admins are told went wrong), an English one with the same
fields. Templates are Telegram HTML written here; the values put into them are escaped by
the caller (user and article text never reaches a template unescaped). The bot, the
notifications and the CLI take their words from here, so they say the same thing the same
way; ``tests/bot/test_catalogue.py`` keeps Vietnamese literals out of ``bot/``.

It lives in :mod:`markup`, the lowest layer the bot, the notifications and ``hoptac`` share.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The Telegram language codes that get English (everyone else reads Vietnamese).
ENGLISH_CODES = ("en",)


@dataclass(frozen=True)
class Words:
    """One message or piece of one: a Vietnamese template and, maybe, its English."""

    vi: str
    en: str | None = None

    def say(self, language: str | None = None, /, **fields: object) -> str:
        """The template in ``language`` (English for ``"en"`` when there is one), filled in."""
        template = self.en if self.en is not None and english(language) else self.vi
        return template.format(**fields)


def english(language: str | None) -> bool:
    """Whether a Telegram ``language_code`` (``"en"``, ``"en-GB"``...) reads English."""
    return bool(language) and (language or "").split("-")[0].lower() in ENGLISH_CODES


# --- the command menus (bot.command_menus) ---------------------------------------------------

MENU_ASK = Words("Đặt câu hỏi về tin hợp tác", "Ask about cooperation news")
MENU_LATEST = Words("Các bài mới nhất (/latest 10: 10 bài)", "The newest articles (/latest 10: ten)")
MENU_SOURCES = Words("Kho tin: các bài mới nhất và số bài", "The news archive: newest articles and count")
MENU_SUBSCRIBE = Words("Nhận thông báo bài mới (theo tỉnh, chủ đề)", "Get notified of new articles (by place, topic)")
MENU_SUBSCRIPTIONS = Words("Các đăng ký nhận thông báo", "What this chat is notified of")
MENU_UNSUBSCRIBE = Words("Thôi nhận thông báo bài mới", "Stop new-article notifications")
MENU_HELP = Words("Hướng dẫn và ví dụ", "How to ask, with examples")
MENU_START = Words("Giới thiệu", "About this bot")
MENU_ADD = Words("Thêm bài từ địa chỉ web (quản trị)", "Add an article from a web address (admin)")
MENU_REINDEX = Words("Cập nhật lại toàn bộ kho bài (quản trị)", "Rebuild the news archive's search (admin)")
MENU_STATUS = Words("Trạng thái kho tin, thông báo, góp ý (quản trị)", "Archive, notifications, feedback (admin)")
MENU_FEEDBACK = Words("Các góp ý 👎 gần đây (quản trị)", "Recent 👎 feedback (admin)")

# --- asking ----------------------------------------------------------------------------------

ASK_HOW = Words("Hãy gõ câu hỏi sau lệnh, ví dụ: <code>/ask Hải Dương và Bắc Giang hợp tác trong lĩnh vực nào?</code>")
NOT_TEXT = Words("Tôi chỉ đọc được câu hỏi bằng chữ. Hãy gõ câu hỏi, hoặc xem /help.")
UNKNOWN_COMMAND = Words("Tôi không biết lệnh này. Gõ /help để xem các lệnh.")
QUESTION_TOO_LONG = Words(
    "Câu hỏi dài {length} ký tự; hãy hỏi ngắn gọn hơn, dưới {most} ký tự, để tìm được câu trả lời chính xác."
)
TOO_FAST = Words("Bạn đang hỏi hơi nhanh; vui lòng đợi khoảng {seconds} giây rồi hỏi tiếp.")
SOMETHING_WENT_WRONG = Words("⚠️ Xin lỗi, đã có lỗi khi xử lý yêu cầu. Vui lòng thử lại sau ít phút.")
STALE_BUTTON = Words("Câu trả lời này đã cũ, vui lòng hỏi lại.")
COUNT_HOW = Words("Hãy gõ một số từ 1 đến {most} sau lệnh, ví dụ: <code>{command} 10</code>")

# The one not-found wording, in the bot and in ``hoptac ask``.
NOT_FOUND = Words(
    "Không tìm thấy câu trả lời trong các bài báo hiện có ({count} bài).",
    "No answer found in the articles at hand ({count} articles).",
)
NOT_FOUND_NO_COUNT = Words(
    "Không tìm thấy câu trả lời trong các bài báo hiện có.", "No answer found in the articles at hand."
)


def not_found(article_count: int | None, language: str | None = None) -> str:
    """The one not-found sentence (plain text, no markup), the bot's and ``hoptac ask``'s."""
    if article_count:
        return NOT_FOUND.say(language, count=article_count)
    return NOT_FOUND_NO_COUNT.say(language)


#: Above the quotes of an answer the engine is not sure of (confidence "low"), bot and CLI.
LOW_CONFIDENCE = Words(
    "Chưa chắc đây là câu trả lời — các câu liên quan nhất:",
    "Not sure this answers it — the most related sentences:",
)
NOT_FOUND_EXAMPLES = Words("Kho tin gồm các bài như:\n{titles}")
NOT_FOUND_HINT = Words("Gợi ý: hỏi cụ thể hơn — nêu tên địa phương, dự án hoặc lĩnh vực hợp tác.")
NO_MORE = Words("Không còn kết quả nào khác cho câu hỏi này.")
#: After a quote that is a photo caption (``Citation.is_caption``).
CAPTION = Words("(chú thích ảnh)", "(photo caption)")
#: Above a further page's quotes that score below the answer's first ones (``Citation.less_related``).
LESS_RELATED = Words("Ít liên quan hơn:", "Less related:")

# --- buttons and feedback --------------------------------------------------------------------

BUTTON_FULL_SOURCE = Words("📄 Nguồn đầy đủ")
BUTTON_MORE = Words("➕ Thêm kết quả")
BUTTON_READ_ARTICLE = Words("📰 Đọc bài báo")
BUTTON_OPEN_IN_BOT = Words("💬 Xem thêm trong bot")
BUTTON_OPENING = Words("📰 Nội dung chính")
BUTTON_OPENING_OF = Words("📰 {title}")
REASON_WRONG_QUOTE = Words("Sai trích dẫn")
REASON_NOT_ANSWERED = Words("Không trả lời câu hỏi")
REASON_OUTDATED = Words("Thông tin cũ")
REASON_NONE = Words("không nêu lý do")
THANKS_LIKE = Words("Cảm ơn bạn đã góp ý! 👍")
THANKS_DISLIKE = Words("Cảm ơn bạn, chúng tôi sẽ cải thiện. 👎")
THANKS_REASON = Words("Đã ghi nhận, cảm ơn bạn!")
ASK_WHY_DISLIKED = Words("👎 Cảm ơn bạn đã góp ý. Câu trả lời chưa tốt vì sao? (không bắt buộc)")
REASON_NOTED = Words("👎 Cảm ơn bạn! Đã ghi nhận lý do: <b>{reason}</b>.")
OPENING_HEADER = Words("📰 <b>Phần mở đầu của bài</b>")

# --- inline mode -----------------------------------------------------------------------------

INLINE_TYPE_A_QUESTION = Words("✍️ Gõ câu hỏi sau tên bot, ví dụ: Hải Dương hợp tác gì?")
INLINE_TOO_FAST = Words("⏳ Bạn đang hỏi hơi nhanh; đợi khoảng {seconds} giây")
INLINE_TOO_LONG = Words("Câu hỏi dài quá; hãy hỏi ngắn gọn hơn")
INLINE_NOT_FOUND = Words("Không tìm thấy câu trả lời trong các bài báo hiện có; mở bot để xem gợi ý")
INLINE_UNAVAILABLE = Words("⚠️ Chưa trả lời được lúc này; mở bot để hỏi")

# --- the archive -----------------------------------------------------------------------------

ARCHIVE_EMPTY = Words("Kho tin chưa có bài nào. Quản trị viên có thể nạp bài bằng <code>hoptac ingest</code>.")
SOURCES_HEADER = Words("📚 <b>Các bài mới nhất</b> (trong {count} bài của kho tin):")
SOURCES_HEADER_NO_COUNT = Words("📚 <b>Các bài mới nhất:</b>")
LATEST_HEADER = Words("🗞 <b>{shown} bài mới nhất</b>")
LATEST_OF = Words(" (trong {count} bài của kho tin)")
LATEST_CAPPED = Words("<i>Mỗi lần xem được tối đa {most} bài.</i>")
EXAMPLE_QUESTION = Words("Nội dung chính của “{title}” là gì?")
HELP_GREETING = Words(
    "👋 Xin chào! Tôi trả lời câu hỏi về tin tức hợp tác giữa các địa phương, "
    "và luôn trích nguyên văn câu trong bài báo làm bằng chứng."
)
HELP = Words(
    "<b>Cách hỏi</b>\n"
    "• Trong chat riêng: gõ câu hỏi bất kỳ.\n"
    "• Trong nhóm: <code>/ask câu hỏi</code>, nhắc tên bot (@...) hoặc trả lời một tin của bot.\n"
    "\n"
    "<b>Lệnh</b>\n"
    "/ask — đặt câu hỏi\n"
    "/latest — các bài mới nhất (<code>/latest 10</code>: 10 bài)\n"
    "/sources — các bài mới nhất trong kho tin\n"
    "/subscribe — nhận thông báo khi có bài mới (trong nhóm: quản trị viên nhóm bật)\n"
    "/unsubscribe — thôi nhận thông báo\n"
    "/help — hướng dẫn này"
)
HELP_EXAMPLES = Words("<b>Ví dụ</b>")
HELP_BUTTONS = Words("Dưới mỗi câu trả lời: «Nguồn đầy đủ» xem cả đoạn văn, «Thêm kết quả» xem tiếp, 👍/👎 góp ý.")

# --- durations -------------------------------------------------------------------------------

DAYS_HOURS = Words("{days} ngày {hours} giờ")
HOURS_MINUTES = Words("{hours} giờ {minutes} phút")
MINUTES_SECONDS = Words("{minutes} phút {seconds} giây")
SECONDS = Words("{seconds} giây")

# --- admins: /status, /feedback --------------------------------------------------------------

ADMIN_ONLY = Words("⛔ Lệnh này chỉ dành cho quản trị viên của bot.", "⛔ This command is for the bot's admins only.")
STATUS = Words(
    "📊 <b>Trạng thái</b>\n"
    "Bài báo: {articles}\n"
    "Đoạn (passage): {passages}\n"
    "Câu: {sentences}\n"
    "Mô hình: <code>{model}</code> ({dimension} chiều)\n"
    "Bộ tìm kiếm: {kind}, {size_mb} MB, cập nhật lúc {built_at} ({age} trước)\n"
    "Phiên bản: {version}\n"
    "Bot chạy được: {uptime}"
)
STATUS_SUBSCRIBERS = Words("Thông báo: {subscribers} nơi đăng ký, {pending} tin chờ gửi")
STATUS_FOLDER_UNWATCHED = Words("Thư mục bài: không theo dõi")
STATUS_FOLDER_WATCHED = Words("Thư mục bài: kiểm tra mỗi {every}")
STATUS_LAST_ERROR = Words("  ⚠️ lỗi gần nhất: {error}")
STATUS_NO_FEEDS = Words("Nguồn RSS/Atom: chưa cấu hình")
STATUS_FEEDS = Words("Nguồn RSS/Atom ({count}):")
STATUS_FEED = Words("• {url} — lần đọc cuối {polled}, {outcome}, đã thêm {added} bài")
STATUS_FEED_NEVER_READ = Words("chưa đọc")
STATUS_FEED_ERROR = Words("⚠️ lỗi: {error}")
STATUS_REPLICA = Words("Bản sao (replica): <code>{replica}</code>, chạy một nơi: {singletons}")
STATUS_NONE = Words("không")
DISLIKE_COUNTS = Words("Góp ý 👎: {total} ({parts})")
NO_DISLIKES = Words("Chưa có góp ý 👎 nào.")
DISLIKES_HEADER = Words("👎 <b>{count} góp ý chưa hài lòng gần nhất</b>")
DISLIKE = Words("{number}. {when} — lý do: <b>{why}</b>\n🔎 {question}\n{quote}")
NO_QUOTE = Words("(không có trích dẫn)")

# --- admins: /reindex ------------------------------------------------------------------------

REINDEX_RUNNING = Words("Kho bài đang được cập nhật lại; vui lòng đợi lần này xong. {progress}")
REINDEX_STARTED = Words("⏳ Đang cập nhật lại kho bài… Câu hỏi vẫn được trả lời từ kho bài hiện tại.")
REINDEX_PROGRESS = Words("⏳ Đang cập nhật lại kho bài: {stage}{share}. Câu hỏi vẫn được trả lời từ kho bài hiện tại.")
REINDEX_DONE = Words(
    "✅ <b>Đã cập nhật lại kho bài</b> sau {elapsed}: {articles} bài, {passages} đoạn, {sentences} câu. "
    "Câu hỏi mới dùng kho bài mới."
)
REINDEX_FAILED = Words(
    "❌ Cập nhật lại kho bài không thành công ({error}); câu hỏi vẫn được trả lời từ kho bài cũ. "
    "Chi tiết trong log của bot.",
    "❌ Rebuilding the archive failed ({error}); questions are still answered from the old one. "
    "Details are in the bot's log.",
)
REINDEX_STATUS = Words("Đang cập nhật lại kho bài ({elapsed}).")
CHANGE_STATUS = Words("Đang nạp bài mới ({activity}).")
STAGE_MODEL = Words("tải mô hình")
STAGE_EMBED = Words("mã hoá câu")
STAGE_INDEX = Words("dựng bộ tìm kiếm")
STAGE_INGEST = Words("nạp bài")
ACTIVITY_REINDEX = Words("cập nhật lại kho bài")
ACTIVITY_FOLDER = Words("thư mục bài")
ACTIVITY_FEEDS = Words("tin từ nguồn RSS/Atom")
ACTIVITY_UPLOAD = Words("tệp tải lên")

# --- admins: /add and uploads ----------------------------------------------------------------

ADD_HOW = Words("Hãy gửi kèm địa chỉ bài báo, ví dụ: <code>/add https://baohaiduong.vn/bai-viet.html</code>")
UPLOAD_ADMIN_ONLY = Words(
    "⛔ Chỉ quản trị viên của bot mới gửi được tệp bài báo để đưa vào kho tin.",
    "⛔ Only the bot's admins may send article files to add to the archive.",
)
UPLOAD_DEFAULT_NAME = Words("tệp")
FILE_TOO_BIG = Words(
    "Tệp nặng {size}, quá giới hạn {limit}. Hãy chia nhỏ tệp (ví dụ tách tệp JSONL) rồi gửi lại từng phần.",
    "The file is {size}, over the {limit} limit. Split it (a JSONL file by lines, say) and send the parts.",
)
FILE_OVER_LIMIT = Words(
    "Tệp quá giới hạn {limit}. Hãy chia nhỏ tệp rồi gửi lại từng phần.",
    "The file is over the {limit} limit. Split it and send the parts.",
)
INGEST_HEADER = Words("📥 <b>Kết quả nạp</b>: {origin}", "📥 <b>Added</b>: {origin}")
INGEST_NEW = Words("🆕 mới", "🆕 new")
INGEST_UPDATED = Words("♻️ cập nhật", "♻️ updated")
INGEST_UNCHANGED = Words("➖ không đổi", "➖ unchanged")
INGEST_FAILED = Words("❌ {what}: {why}")
INGEST_MORE_LINES = Words("… và {count} dòng nữa.", "… and {count} more lines.")
INGEST_NOTHING = Words("Không tìm thấy bài nào.", "No article found.")
INGEST_TOTALS = Words(
    "Tổng: {new} mới, {updated} cập nhật, {unchanged} không đổi, {failed} lỗi.",
    "In all: {new} new, {updated} updated, {unchanged} unchanged, {failed} failed.",
)
INGEST_ANNOUNCED = Words(
    "Bài mới đã vào kho tin; các nhóm đã đăng ký sẽ được thông báo.",
    "The new articles are in the archive; subscribed chats will be notified.",
)
DETAIL = Words("(chi tiết: <code>{detail}</code>)", "(detail: <code>{detail}</code>)")

# What is wrong with an article, in words an official can act on (retrieval.articles.problems).
PROBLEM_NO_FRONT_MATTER = Words(
    "Tệp Markdown thiếu phần đầu bài (front matter): dòng đầu tiên phải là <code>---</code>, "
    "tiếp theo là id, title…, rồi một dòng <code>---</code>. Thêm vào rồi gửi lại.",
    "The Markdown file has no front matter: its first line must be <code>---</code>, then id, title…, "
    "then a <code>---</code> line. Add it and send the file again.",
)
PROBLEM_FRONT_MATTER_NOT_CLOSED = Words(
    "Phần đầu bài (front matter) chưa được đóng bằng một dòng <code>---</code>. Thêm dòng đó rồi gửi lại.",
    "The front matter is not closed by a <code>---</code> line. Add that line and send the file again.",
)
PROBLEM_BAD_YAML = Words(
    "Phần đầu bài (front matter) viết sai cú pháp YAML{where}. Sửa (thường là thiếu dấu đóng ngoặc "
    "hoặc dấu ngoặc kép) rồi gửi lại.",
    "The front matter is not valid YAML{where}. Fix it (often a missing closing bracket or quote) "
    "and send the file again.",
)
PROBLEM_AT_LINE = Words(" ở dòng {line}", " at line {line}")
PROBLEM_FRONT_MATTER_NOT_MAPPING = Words(
    "Phần đầu bài (front matter) phải là các dòng <code>tên: giá trị</code> (id, title, published…). Sửa rồi gửi lại.",
    "The front matter must be <code>name: value</code> lines (id, title, published…). Fix it and send it again.",
)
PROBLEM_MISSING_FIELD = Words(
    "Bài thiếu trường bắt buộc <code>{field}</code>. Thêm vào rồi gửi lại.",
    "The article lacks the required field <code>{field}</code>. Add it and send the file again.",
)
PROBLEM_FIELD_NOT_TEXT = Words(
    "Trường <code>{field}</code> phải là chữ. Sửa rồi gửi lại.",
    "The field <code>{field}</code> must be text. Fix it and send the file again.",
)
PROBLEM_TAGS_NOT_LIST = Words(
    "Trường <code>tags</code> phải là một danh sách chữ, ví dụ <code>[du lịch, logistics]</code>. Sửa rồi gửi lại.",
    "The field <code>tags</code> must be a list of words, e.g. <code>[tourism, logistics]</code>. Fix it and resend.",
)
PROBLEM_BAD_DATE = Words(
    "Ngày đăng (<code>published</code>) không đọc được; hãy viết dạng <code>2025-07-01</code> "
    "hoặc <code>2025-07-01T08:30:00+07:00</code> rồi gửi lại.",
    "The date (<code>published</code>) cannot be read; write it as <code>2025-07-01</code> "
    "or <code>2025-07-01T08:30:00+07:00</code> and send it again.",
)
PROBLEM_NO_TIMEZONE = Words(
    "Ngày giờ đăng (<code>published</code>) thiếu múi giờ; thêm <code>+07:00</code> vào cuối rồi gửi lại.",
    "The date (<code>published</code>) has no time zone; add <code>+07:00</code> at its end and resend.",
)
PROBLEM_EMPTY_BODY = Words(
    "Bài không có nội dung (chỉ có tiêu đề). Thêm nội dung bài rồi gửi lại.",
    "The article has no body (only a title). Add its text and send it again.",
)
PROBLEM_LINE_ENDS = Words(
    "Tệp dùng kiểu xuống dòng của Windows (CR LF). Lưu lại với kiểu xuống dòng LF rồi gửi lại.",
    "The file uses Windows line ends (CR LF). Save it with LF line ends and send it again.",
)
PROBLEM_NOT_NFC = Words(
    "Chữ tiếng Việt trong bài chưa được chuẩn hoá (NFC). Lưu lại bằng trình soạn thảo UTF-8 rồi gửi lại.",
    "The Vietnamese text is not NFC-normalised. Save it again from a UTF-8 editor and resend.",
)
PROBLEM_TOO_LARGE = Words(
    "Tệp (hoặc một dòng JSONL) quá lớn. Hãy chia nhỏ rồi gửi lại từng phần.",
    "The file (or a JSONL line) is too large. Split it and send the parts.",
)
PROBLEM_NOT_UTF8 = Words(
    "Tệp không phải chữ mã UTF-8. Lưu lại với mã UTF-8 rồi gửi lại.",
    "The file is not UTF-8 text. Save it as UTF-8 and send it again.",
)
PROBLEM_BINARY = Words(
    "Tệp không phải văn bản (có thể là Word, PDF hoặc ảnh). Hãy gửi tệp .txt, .md, .html hoặc .jsonl.",
    "The file is not text (Word, PDF or an image?). Send a .txt, .md, .html or .jsonl file.",
)
PROBLEM_BAD_JSON = Words(
    "Một dòng JSONL viết sai cú pháp JSON. Sửa dòng đó (mỗi dòng là một bài) rồi gửi lại.",
    "A JSONL line is not valid JSON. Fix that line (one article per line) and send the file again.",
)
PROBLEM_NOT_JSON_OBJECT = Words(
    'Một dòng JSONL không phải một bài (phải là <code>{{"id": …, "title": …, "body": …}}</code>). Sửa rồi gửi lại.',
    'A JSONL line is not an article (it must be <code>{{"id": …, "title": …, "body": …}}</code>). Fix it, resend.',
)
PROBLEM_UNREADABLE = Words(
    "Không đọc được tệp (có thể tệp nén bị hỏng hoặc gửi chưa hết). Gửi lại tệp.",
    "The file cannot be read (a damaged or cut-off archive?). Send it again.",
)
PROBLEM_EMPTY_FILE = Words("Tệp trống. Gửi tệp có nội dung bài.", "The file is empty. Send one with articles in it.")
PROBLEM_NO_ARTICLE_TEXT = Words(
    "Không tìm thấy nội dung bài trong tệp (cần dòng tiêu đề, rồi nội dung). Sửa rồi gửi lại.",
    "No article text found in the file (it needs a title line, then the text). Fix it and send it again.",
)
PROBLEM_DUPLICATE_ID = Words(
    "Hai bài trong lần gửi này cùng id <code>{id}</code>; đã giữ bài đầu. Đổi id của bài sau nếu đó là bài khác.",
    "Two articles sent together share the id <code>{id}</code>; the first was kept. Give the other its own id.",
)
PROBLEM_OTHER = Words("Bài không nạp được.", "The article could not be added.")

# --- /add: fetching a page (news_pipeline.fetch, news_pipeline.uploads) --------------------------

ADDRESS_HOW = Words(
    "Địa chỉ phải bắt đầu bằng http:// hoặc https://, ví dụ: /add https://baohaiduong.vn/...",
    "The address must start with http:// or https://, e.g. /add https://baohaiduong.vn/...",
)
UNSUPPORTED_FILE = Words(
    "Không đọc được loại tệp này. Hãy gửi tệp {kinds} (hoặc .jsonl.gz).",
    "This kind of file cannot be read. Send a {kinds} file (or .jsonl.gz).",
)
FETCH_FAILED = Words(
    "Không lấy được bài từ địa chỉ này: {reason}. Kiểm tra địa chỉ rồi thử lại.",
    "Could not get the article at this address: {reason}. Check the address and try again.",
)

# --- notifications (notifications.digest) ----------------------------------------------------

NOTICE_ONE = Words("🆕 <b>Bài mới trong kho tin</b>")
NOTICE_MANY = Words("🆕 <b>{count} bài mới trong kho tin</b>")
NOTICE_CONTINUED = Words("🆕 <b>Bài mới (tiếp)</b>")
NOTICE_SUMMARY_ONLY = Words("<i>(chỉ có phần tóm tắt của nguồn tin; chưa lấy được toàn văn)</i>")
NOTICE_MORE = Words("… và {count} bài mới khác; xem các bài mới nhất bằng /sources.")

# --- subscriptions (bot.subscribing) ---------------------------------------------------------

NOT_GROUP_ADMIN = Words("⛔ Chỉ quản trị viên của nhóm mới bật hoặc tắt được thông báo bài mới cho nhóm.")
SUBSCRIBE_HOW = Words(
    "Đăng ký nhận thông báo bài mới:\n"
    "• <code>/subscribe</code>: mọi bài mới\n"
    "• <code>/subscribe Hải Phòng</code>: bài về một tỉnh, thành phố (theo địa giới từ 1/7/2025, "
    "gồm cả các tỉnh, huyện đã nhập vào; gõ không dấu cũng được)\n"
    "• <code>/subscribe du lịch</code>: bài có từ khóa đó"
)
SUBSCRIBE_TOO_LONG = Words("Từ khóa dài quá; hãy dùng một từ hoặc cụm từ ngắn (dưới 60 ký tự).")
SUBSCRIBE_TOO_MANY = Words("Nơi này đã có {most} đăng ký; hãy bỏ bớt (xem /subscriptions) rồi thêm.")
HERE_PRIVATE = Words("cuộc trò chuyện này")
HERE_GROUP = Words("nhóm này")
EVERY_ARTICLE = Words("mọi bài")
# What a subscription is about (plain text: the caller escapes it).
PLACE_WITH_FORMER = Words("{place} (gồm cả {former} cũ)")
TOPIC = Words("chủ đề “{keyword}”")
EVERY_NEW_ARTICLE = Words("mọi bài mới")
SUBSCRIBED_ALL = Words(
    "🔔 Đã bật thông báo: {where} sẽ nhận tin mỗi khi có bài mới được đưa vào kho tin. Tắt: /unsubscribe"
)
ALREADY_SUBSCRIBED_ALL = Words("🔔 {where} đã đăng ký nhận thông báo bài mới rồi. Tắt: /unsubscribe")
UNIT_NOW_IN = Words("ℹ️ {kind} {name} nay thuộc {now}.")
SUBSCRIBED_TO = Words("🔔 Đã bật thông báo: {where} sẽ nhận tin khi có bài mới về {label}.")
STILL_EVERYTHING = Words("Nơi này vẫn nhận mọi bài mới; chỉ nhận theo đăng ký riêng: {removal}")
ALREADY_SUBSCRIBED_TO = Words("🔔 {where} đã đăng ký nhận tin về {label} rồi.")
SUBSCRIPTIONS_FOOTER = Words("Các đăng ký: /subscriptions · Bỏ: {removal}")
NO_SUBSCRIPTIONS = Words("Nơi này chưa đăng ký nhận thông báo bài mới.")
SUBSCRIPTIONS_HEADER = Words("🔔 {where} nhận thông báo khi có bài mới về:")
SUBSCRIPTION_LINE = Words("• {label} (bỏ: {removal})")
SUBSCRIPTIONS_HOW = Words("\nBỏ hết: /unsubscribe · Thêm: /subscribe và tên tỉnh, thành phố hoặc từ khóa")
NO_SUCH_SUBSCRIPTION = Words("Không có đăng ký nào như vậy. Xem các đăng ký: /subscriptions")
UNSUBSCRIBED_ALL = Words("🔕 Đã tắt thông báo bài mới. Bật lại: /subscribe")
NOT_SUBSCRIBED = Words("Nơi này chưa đăng ký nhận thông báo. Bật: /subscribe")
NOT_SUBSCRIBED_TO = Words("Nơi này chưa đăng ký nhận tin về {label}. Xem các đăng ký: /subscriptions")
UNSUBSCRIBED_FROM = Words("🔕 Đã bỏ đăng ký {label}. Các đăng ký còn lại: /subscriptions")
UNSUBSCRIBED_LAST = Words("🔕 Đã bỏ đăng ký {label}; nơi này không còn nhận thông báo bài mới. Bật lại: /subscribe")
#: What ``/unsubscribe`` takes to remove every filter at once (besides nothing), as typed.
ALL_WORDS = Words("tất cả")
