"""Chinese cues: the same categories as the English rules, and filler replies (好的, 谢谢, 嗯)."""

from __future__ import annotations

import re

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("preferences", re.compile(r"喜欢|偏好|更爱|最爱|讨厌|爱吃|爱喝|不爱")),
    ("decisions", re.compile(r"决定|同意|将使用|将采用|选定|定下|敲定|就用")),
    ("pitfalls", re.compile(r"注意|错误|失败|问题|出错|故障|崩溃|小心|坑|bug", re.I)),
    ("constraints", re.compile(r"必须|不要|不能|不可以|禁止|截止|预算|务必|一定要|过敏|最多|至少|不得")),
    ("open_tasks", re.compile(r"需要|待办|提醒|记得|别忘|要去|计划|打算|下一步")),
    ("facts", re.compile(r"我是|我叫|住在|在.{1,12}工作|是|今年|岁|生日|来自|\d")),
)
FILLER = re.compile(r"(?:好的|好吧|好|谢谢你?|多谢|嗯+|收到|没问题|明白了?|可以|行|对|是的|哈+|了|啊|呀|吧)+")
