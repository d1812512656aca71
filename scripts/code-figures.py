#!/usr/bin/env python3
"""Figures about the shape of Lanyard's code, for the "one door" redesign's before/after.

Prints: lines in src/web, functions longer than 80 lines (and web handlers longer than 40),
and which top-level modules import `config` (outside test modules, as the architecture
check counts them). Function extents are found by matching braces
after each `fn` item, skipping string literals, char literals and comments; `#[cfg(test)]`
modules (and `tests.rs` files) are left out. Usage: scripts/code-figures.py [SRC_DIR]
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "src"
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def code_only(text):
    """The text with comments and string/char literals blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_test_modules(lines):
    """Line numbers (0-based) inside `#[cfg(test)] mod … { … }` blocks."""
    skip, i = set(), 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*(pub\s+)?mod\s+\w+\s*\{", lines[i + 1]):
            depth, j = 0, i + 1
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                skip.add(j)
                if depth == 0:
                    break
                j += 1
            skip.add(i)
            i = j
        i += 1
    return skip


def functions(path):
    text = open(path, encoding="utf-8").read()
    lines = code_only(text).split("\n")
    skip = without_test_modules(lines)
    found = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m or i in skip:
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            for ch in lines[j]:
                if ch == "{":
                    depth += 1
                    started = True
                elif ch == "}":
                    depth -= 1
                elif ch == ";" and not started and depth == 0:
                    j = -1
                    break
            if j < 0 or (started and depth == 0):
                break
            j += 1
        if j >= 0 and started:
            found.append((m.group(6), i + 1, j - i + 1))
    return found


def main():
    files = []
    for root, _, names in os.walk(SRC):
        # `tests.rs` files are `#[cfg(test)]` modules of their parent.
        files += [os.path.join(root, n) for n in names if n.endswith(".rs") and n != "tests.rs"]
    files.sort()
    web_lines = sum(sum(1 for _ in open(f, encoding="utf-8")) for f in files if os.sep + "web" + os.sep in f)
    long_fns, long_handlers = [], []
    for f in files:
        for name, line, length in functions(f):
            if length > 80:
                long_fns.append((length, f"{f}:{line} {name}"))
            if os.sep + "web" + os.sep in f and length > 40:
                long_handlers.append((length, f"{f}:{line} {name}"))
    importers = set()
    for f in files:
        rel = os.path.relpath(f, SRC)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        if top == "config":
            continue
        lines = open(f, encoding="utf-8").read().split("\n")
        skip = without_test_modules(lines)
        code = "\n".join(line for i, line in enumerate(lines) if i not in skip)
        if re.search(r"\bcrate::config\b", code):
            importers.add(top)
    print(f"lines in {SRC}/web: {web_lines}")
    print(f"functions over 80 lines: {len(long_fns)}")
    for length, where in sorted(long_fns, reverse=True):
        print(f"  {length:4} {where}")
    print(f"functions in web over 40 lines: {len(long_handlers)}")
    for length, where in sorted(long_handlers, reverse=True):
        print(f"  {length:4} {where}")
    print(f"modules importing config: {len(importers)} ({', '.join(sorted(importers))})")


if __name__ == "__main__":
    main()
