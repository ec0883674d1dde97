"""The README is what a newcomer reads in five minutes: what Passerelle is, three
screenshots, the two commands, the walk-through, and links into the docs site. It must stay
short, and everything it shows must exist: the images, the linked pages, the make targets,
the scripts and the variables it tells people to use."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LIMIT = 12_000  # issue 15: "at most ~12,000 characters"; the rest lives in docs/

LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)\)")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has a '## {title}' section"
    return match.group(1)


def local_targets(images: bool) -> list[str]:
    """Relative link (or image) targets, without their #anchor."""
    return [
        target.split("#")[0]
        for bang, target in LINK.findall(README)
        if bool(bang) == images and not re.match(r"[a-z]+:|#", target)
    ]


def test_the_readme_is_under_12000_characters() -> None:
    assert len(README) < LIMIT, (
        f"README.md has {len(README):,} characters (limit {LIMIT:,}): move the details "
        "into a page of docs/ and link it"
    )


def test_it_shows_three_screenshots_that_exist() -> None:
    images = local_targets(images=True)
    assert len(set(images)) >= 3, f"three screenshots, found {images}"
    for image in images:
        path = ROOT / image
        assert path.is_file(), f"README shows {image}, which does not exist"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{image} is not a PNG"


def test_it_gives_the_two_commands_and_they_are_make_targets() -> None:
    text = section("The two commands")
    assert re.search(r"^make demo\b", text, re.M) and re.search(r"^make test\b", text, re.M)
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.M))
    named = set(re.findall(r"`make ([a-z]+)`|^make ([a-z]+)", README, re.M))
    for target in {a or b for a, b in named}:
        assert target in targets, f"README says `make {target}`; the Makefile has no such target"


def test_the_scripts_and_demo_variables_it_names_exist() -> None:
    scripts = set(re.findall(r"scripts/[a-z_]+\.sh", README))
    assert {"scripts/demo.sh", "scripts/test.sh"} <= scripts
    for script in scripts:
        assert (ROOT / script).is_file(), f"README names {script}, which does not exist"
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    for var in set(re.findall(r"\b(DEMO_[A-Z_]+)=", README)):
        assert var in demo, f"README sets {var}, which scripts/demo.sh does not read"


def test_it_has_the_walk_through_in_numbered_steps() -> None:
    steps = [int(n) for n in re.findall(r"^(\d+)\. \*\*", section("Walk-through"), re.M)]
    assert len(steps) >= 5 and steps == list(range(1, len(steps) + 1)), steps


def test_every_link_resolves_and_it_links_into_the_docs() -> None:
    links = local_targets(images=False)
    for target in links:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
    pages = {t for t in links if t.startswith("docs/") and t.endswith(".md")}
    must = {"index", "architecture", "configuration", "cli", "sync", "deployment"}
    must |= {"security", "operations", "benchmarks"}
    missing = sorted(f"docs/{p}.md" for p in must if f"docs/{p}.md" not in pages)
    assert missing == [], f"README does not link to {missing}"
