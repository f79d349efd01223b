#!/usr/bin/python3
"""Checks that the user documentation is true: its links resolve, its command reference is
complete, its quick start runs.

    docs_links.py CASE [ROOT]

CASE is one of
  files         every relative link target in README.md and docs/**/*.md exists (file or folder)
  anchors       every `#anchor` of a link into a markdown file names a heading of that file
                (GitHub's heading ids)
  options       docs/commands.md names every option that `carlo COMMAND --help` and
                `carlo run --sim NAME --help` print, in that command's section (needs $CARLO_BIN)
  detects_bad   the link checker itself: on a scratch tree with a missing file, a missing
                folder and two wrong anchors it reports exactly those four links
  quickstart    every shell block of docs/quickstart.md after the build step runs and succeeds,
                in order, in a scratch copy of the tree whose build/ is $CARLO_BIN's folder; the
                Python files it runs are written from the python blocks, named by the last
                `NAME.py` the text before each block mentions

ROOT defaults to the source tree this script is in. Links inside fenced code blocks and inline
code are not links; absolute URLs (http:, https:, mailto:) are not checked (no network in the
tests).
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# [text](target "title") and ![alt](target); the target is the first token inside the parentheses.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target   (reference definitions)
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def markdown_files(root):
    files = [root / "README.md"]
    files += sorted((root / "docs").rglob("*.md"))
    return [f for f in files if f.is_file()]


def prose_lines(path, keep_code=False):
    """(line number, text) of the lines outside fenced code blocks, inline code removed unless
    `keep_code` (headings keep it: it is part of their id)."""
    fence = None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield n, line if keep_code else re.sub(r"(`+)(?:(?!\1).)+?\1", "", line)


def links(path):
    """(line number, target) of every link in a markdown file."""
    for n, line in prose_lines(path):
        for m in INLINE_LINK.finditer(line):
            yield n, m.group(1)
        m = REFERENCE_DEF.match(line)
        if m:
            yield n, m.group(1)


def is_external(target):
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) is not None


def github_slug(heading):
    """The id GitHub gives a heading: markup dropped, lower case, punctuation other than '-' and
    '_' removed, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)                          # inline HTML
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(path, cache={}):
    """Heading ids of a markdown file, duplicates numbered as GitHub does (-1, -2, ...)."""
    if path not in cache:
        seen, ids = {}, set()
        for _, line in prose_lines(path, keep_code=True):
            m = HEADING.match(line)
            if not m:
                continue
            slug = github_slug(m.group(2))
            k = seen.get(slug, 0)
            seen[slug] = k + 1
            ids.add(slug if k == 0 else f"{slug}-{k}")
        cache[path] = ids
    return cache[path]


def check(root, want_anchors):
    """Problems, one line each: 'FILE:LINE: link TARGET: what is wrong'."""
    problems = []
    for md in markdown_files(root):
        for n, target in links(md):
            if is_external(target):
                continue
            path_part, _, anchor = target.partition("#")
            dest = (md.parent / path_part).resolve() if path_part else md
            where = f"{md.relative_to(root)}:{n}: link {target}"
            if not dest.exists():
                problems.append(f"{where}: {path_part} does not exist")
                continue
            if want_anchors and anchor and dest.is_file() and dest.suffix == ".md":
                if anchor not in anchors_of(dest):
                    problems.append(f"{where}: no heading with id '{anchor}' in "
                                    f"{dest.relative_to(root) if dest.is_relative_to(root) else dest}")
    return problems


def report(problems, what, fine):
    if problems:
        print("\n".join(problems))
        sys.exit(f"{len(problems)} {what}")
    print(fine)


def detects_bad():
    with tempfile.TemporaryDirectory(prefix="carlo-docs-links.") as tmp:
        root = Path(tmp)
        (root / "docs" / "examples").mkdir(parents=True)
        (root / "docs" / "examples" / "x.py").write_text("")
        (root / "README.md").write_text(
            "# Top\n[ok](docs/a.md) [missing](docs/nope.md) [folder](docs/examples/)\n"
            "`[not a link](nowhere.md)`\n```\n[in code](nowhere.md)\n```\n"
            "[web](https://example.org/x.md)\n")
        (root / "docs" / "a.md").write_text(
            "# A page\n## `carlo run --sim NAME` options\n## Exit status\n## Exit status\n"
            "[good](#carlo-run---sim-name-options) [dup](#exit-status-1) [bad](#exit-codes)\n"
            "[up](../README.md#top) [gone](examples/missing/) [img](examples/x.py)\n"
            "[ref]: ../README.md#no-such-heading\n")
        problems = check(root, want_anchors=True)
        found = sorted(": ".join(p.split(": ")[:2]) for p in problems)
        expected = sorted([
            "README.md:2: link docs/nope.md",
            "docs/a.md:6: link examples/missing/",
            "docs/a.md:5: link #exit-codes",
            "docs/a.md:7: link ../README.md#no-such-heading",
        ])
        if found != expected:
            sys.exit("the checker reported:\n  " + "\n  ".join(problems) +
                     "\nexpected exactly:\n  " + "\n  ".join(expected))
        print("the checker finds every broken link and only those")


# (help command, heading of its section in docs/commands.md)
HELP_SECTIONS = [
    (["gen", "groups", "--help"], "`carlo gen`"),
    (["gen", "graph", "--help"], "`carlo gen`"),
    (["info", "--help"], "`carlo info`"),
    (["import", "--help"], "`carlo import`"),
    (["run", "--help"], "`carlo run`"),
    (["report", "--help"], "`carlo report`"),
    (["merge", "--help"], "`carlo merge`"),
] + [(["run", "--sim", sim, "--help"], "`carlo run`") for sim in ("pi", "bootstrap", "walk", "slab", "faults")]


def section(text, heading):
    """The text of the level-2 section `## heading`, up to the next level-2 heading."""
    m = re.search(r"^## " + re.escape(heading) + r"\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        sys.exit(f"docs/commands.md has no section '## {heading}'")
    return m.group(1)


def options_documented(root):
    """Problems: options a --help prints that its section of docs/commands.md does not name."""
    carlo = os.environ["CARLO_BIN"]
    text = (root / "docs" / "commands.md").read_text(encoding="utf-8")
    problems, checked = [], 0
    for args, heading in HELP_SECTIONS:
        p = subprocess.run([carlo, *args], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            sys.exit(f"carlo {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
        # Option lines of Boost.Program_options: "  -o [ --output ] arg  ..." or "  --sim arg ...".
        names = re.findall(r"^\s+(?:-\w \[ )?--([a-z][a-z0-9-]*)", p.stdout, re.M)
        if not names:
            sys.exit(f"carlo {' '.join(args)} printed no options:\n{p.stdout}")
        body = section(text, heading)
        for name in names:
            if name == "help":  # documented once, under "Rules shared by all commands"
                continue
            checked += 1
            if not re.search(r"`(?:-\w, )?--" + re.escape(name) + r"\b", body):
                problems.append(f"docs/commands.md, section {heading}: --{name} "
                                f"(from carlo {' '.join(args)}) is not documented")
    print(f"{checked} options checked")
    return problems


def code_blocks(path):
    """(language, text before the block since the previous one, code) of every fenced block."""
    blocks, lines, fence, prose = [], [], None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence, lang, lines = m.group(1), line.strip()[3:].strip(), []
        elif fence is not None and line.strip() == fence:
            blocks.append((lang, "\n".join(prose), "\n".join(lines) + "\n"))
            fence, prose = None, []
        elif fence is not None:
            lines.append(line)
        else:
            prose.append(line)
    return blocks


def quickstart_runs(root):
    """Runs the quick start's commands as a reader would; returns the failure, or None."""
    carlo_dir = Path(os.environ["CARLO_BIN"]).resolve().parent
    with tempfile.TemporaryDirectory(prefix="carlo-quickstart.") as tmp:
        tree = Path(tmp) / "carlo"  # what `cd carlo` enters: a clone with build/ made by setup.sh
        tree.mkdir()
        for name in ("data", "docs", "scripts"):
            (tree / name).symlink_to(root / name)
        (tree / "build").symlink_to(carlo_dir)
        script, files, ran_setup = ["set -euo pipefail"], {}, False
        for lang, prose, code in code_blocks(root / "docs" / "quickstart.md"):
            if lang == "python":
                names = re.findall(r"`([\w.-]+\.py)`", prose)
                if not names:
                    return f"a python block has no file name in the text before it:\n{code}"
                files[names[-1]] = code
            elif lang == "sh":
                if "scripts/setup.sh" in code:  # the build step: build/ is given
                    ran_setup = True
                    continue
                script.append(code)
        if not ran_setup or len(script) < 5:
            return f"docs/quickstart.md does not look as expected ({len(script) - 1} shell blocks)"
        # Python files are saved where the reader runs them: the scratch folder _try.
        (tree / "_try").mkdir()
        for name, code in files.items():
            (tree / "_try" / name).write_text(code)
        p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tree, capture_output=True,
                           text=True, timeout=900)
        print(p.stdout[-4000:])
        if p.returncode != 0:
            return f"the quick start's commands failed (exit {p.returncode}):\n{p.stderr[-4000:]}"
        for expected in ("carlo 0.1", "identical", "plot written to report.svg",
                         "average row mean"):
            if expected not in p.stdout:
                return f"'{expected}' missing from the output"
    return None


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    case = sys.argv[1]
    root = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).parents[2]).resolve()
    if case == "files":
        report(check(root, want_anchors=False), "broken relative links", "all relative links resolve")
    elif case == "anchors":
        report([p for p in check(root, want_anchors=True) if "no heading" in p], "broken link anchors",
               "all link anchors resolve")
    elif case == "options":
        report(options_documented(root), "options not documented",
               "every option of every --help is in docs/commands.md")
    elif case == "quickstart":
        failure = quickstart_runs(root)
        if failure:
            sys.exit(failure)
        print("every command of docs/quickstart.md ran")
    elif case == "detects_bad":
        detects_bad()
    else:
        sys.exit(f"unknown case {case!r}\n{__doc__}")


if __name__ == "__main__":
    main()
