"""The zh-TW edition's style rules (i18n/GLOSSARY.zh-TW.md), as checks on one translated text.

    problems("在 async def 中呼叫 time.sleep()，整個事件迴圈就停了。")   # [] : it follows the rules
    problems("線程池的默認大小")   # ["Mainland form 線程 (Taiwan: 執行緒)", "Mainland form 默認 (Taiwan: 預設)"]

Rules: Traditional characters only (a CJK character outside Big5 is Simplified, or too rare to use; a
few Simplified forms that Big5 also holds are listed); Taiwan's terms, not the Mainland's (a quotation in
「」 keeps the words it quotes, such as the article's 異步); full-width punctuation in Chinese sentences;
a half-width space between a CJK character and a Latin letter, digit, ``%`` or code span, and no space
between full-width punctuation and what touches it. Code spans, links' targets, math and ``{fields}`` are
left out before the rules are applied. Dependency-free: the ``big5`` codec comes with Python.
"""

from __future__ import annotations

import re

__all__ = ["MAINLAND", "problems"]

# Mainland form -> what Taiwan writes (the glossary's table). 程序 is the Mainland's "program" (Taiwan: 程式;
# a process is 行程, a procedure 步驟 or 流程); 文件 is Taiwan's "documentation" only in the compounds allowed.
MAINLAND = {
    "線程": "執行緒", "线程": "執行緒", "服務器": "伺服器", "服务器": "伺服器", "數據庫": "資料庫",
    "数据库": "資料庫", "程序": "程式、行程或步驟", "默認": "預設", "默认": "預設", "異步": "非同步",
    "异步": "非同步", "進程": "行程", "进程": "行程", "內存": "記憶體", "内存": "記憶體", "網絡": "網路",
    "网络": "網路", "信息": "訊息或資訊", "文件": "檔案（file）", "代碼": "程式碼", "軟件": "軟體",
    "硬件": "硬體", "接口": "介面", "調用": "呼叫", "並發": "併發", "緩存": "快取", "隊列": "佇列",
    "字符串": "字串", "字符": "字元", "變量": "變數", "對象": "物件", "端口": "連接埠", "運行": "執行",
    "質量": "品質", "信號": "訊號", "視頻": "影片", "屏幕": "螢幕", "打印": "印出", "鏈接": "連結",
    "回調": "回呼（callback）", "數組": "陣列", "性能": "效能", "登錄": "登入", "菜單": "選單",
    "源代碼": "原始碼", "服務端": "伺服器端", "用戶態": "使用者空間", "超時": "逾時",
}  # fmt: skip
ALLOWED = {"文件": ("說明文件", "官方文件", "技術文件", "參考文件", "文件頁", "API 文件")}
# Simplified forms that Big5 holds too (so the codec cannot tell), and their Traditional forms.
SIMPLIFIED_IN_BIG5 = {"么": "麼", "里": "裡", "于": "於", "后": "後", "异": "異", "并": "並", "机": "機", "网": "網", "据": "據", "构": "構", "范": "範", "几": "幾", "冲": "衝"}  # fmt: skip

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
FULL = "，。、；：？！「」『』（）《》〈〉"
LATIN = "A-Za-z0-9%"
MASKS = (
    (re.compile(r"`+[^`]*`+"), "X"),  # code spans: a Latin word
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"https?://\S+"), "X"),
    (re.compile(r"\$[^$\s][^$]*\$"), "X"),  # inline math
    (re.compile(r"\{[\w.:!]*\}"), "X"),  # format fields of the kit's messages
    (re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\([^()]*\)"), "X"),  # a call written without backticks: read()
    (re.compile(r"\*+"), ""),  # emphasis markers
)
RULES = (
    (re.compile(f"[{CJK}][{LATIN}]|[{LATIN}][{CJK}]"), "no space between Chinese and Latin: {found!r}"),
    (re.compile(f"[{CJK}] *[,;:?!]|[,;:?!] *[{CJK}]"), "half-width punctuation in a Chinese sentence: {found!r}"),
    (re.compile(f"[{CJK}]\\.(?!\\.)"), "half-width full stop after Chinese: {found!r} (。)"),
    (re.compile(f"[{CJK}] *[()]|[()] *[{CJK}]"), "half-width parenthesis in a Chinese sentence: {found!r} (（）)"),
    (re.compile(f" [{FULL}]|[{FULL}] (?=\\S)"), "a space beside full-width punctuation: {found!r}"),
)


def _punctuation(char: str) -> bool:
    return not char.isspace() and not re.match(r"\w", char)


def _emphasis(text: str) -> list[str]:
    """Emphasis that Markdown (CommonMark) shows as stars: ``**`` opens before punctuation only after a
    space or punctuation, and closes after punctuation only before one. "是**`200`**的" shows its stars;
    write "是 **`200`** 的", or keep the punctuation outside ("**量測**。本課程", not "**量測。**本課程")."""
    plain = re.sub(r"`+[^`]*`+", "`x`", text)
    found = []
    for match in re.finditer(r"(\*{1,2})(?=\S)(.+?)(?<=\S)\1", plain):
        before = plain[match.start() - 1] if match.start() else " "
        after = plain[match.end()] if match.end() < len(plain) else " "
        inner = match.group(2)
        opens = not _punctuation(inner[0]) or before.isspace() or _punctuation(before)
        closes = not _punctuation(inner[-1]) or after.isspace() or _punctuation(after)
        if not (opens and closes):
            found.append(f"emphasis Markdown will show as stars: {match.group(0)!r} (a space or punctuation beside it)")
    return found


def _masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def _unquoted(text: str) -> str:
    """``text`` without its quotations in 「」 (they keep the words of what they quote)."""
    return re.sub(r"「[^」]*」", "「」", text)


def _mainland(text: str) -> list[str]:
    found = []
    for term, taiwan in MAINLAND.items():
        for match in re.finditer(term, text):
            around = text[max(0, match.start() - 4) : match.end() + 4]
            if not any(allowed in around for allowed in ALLOWED.get(term, ())):
                found.append(f"Mainland form {term} (Taiwan: {taiwan})")
                break
    return found


def _simplified(text: str) -> list[str]:
    found = []
    for char in dict.fromkeys(re.findall(f"[{CJK}]", text)):
        if char in SIMPLIFIED_IN_BIG5:
            found.append(f"Simplified character {char} (Traditional: {SIMPLIFIED_IN_BIG5[char]})")
            continue
        try:
            char.encode("big5")
        except UnicodeEncodeError:
            found.append(f"Simplified (or non-Big5) character {char}")
    return found


def problems(text: str, preformatted: bool = False) -> list[str]:
    """What in the zh-TW ``text`` breaks the glossary's rules (empty when nothing does). In a
    ``preformatted`` block (a diagram aligned by hand) only the words and the Chinese-Latin spacing count."""
    if not re.search(f"[{CJK}]", text):
        return []  # kept in English (a name, a figure): nothing to check
    masked = _masked(text)
    found = _simplified(text) + _mainland(_unquoted(masked)) + _emphasis(text)
    for pattern, message in RULES[:1] if preformatted else RULES:
        for line in masked.split("\n"):
            hits = list(dict.fromkeys(match.group(0) for match in pattern.finditer(line)))
            found += [message.format(found=hit) for hit in hits]
    return found
