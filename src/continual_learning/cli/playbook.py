"""``continual-learning playbook ...``: ACE's named playbooks under ``playbooks/``.

``export`` and ``import`` move a playbook between the workspace's ACE engine and a named file;
``list`` and ``show`` read the files without loading a model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from continual_learning.ui.console import console, print_json

if TYPE_CHECKING:
    from continual_learning.engines.ace.engine import AceEngine
    from continual_learning.engines.ace.playbook import Playbook
    from continual_learning.workbench import Workbench


def add_parser(commands: Any) -> None:
    playbook = commands.add_parser("playbook", help="ACE playbooks: list, show, export, import")
    verbs = playbook.add_subparsers(dest="playbook_command", metavar="ACTION", required=True)
    listing = verbs.add_parser("list", help="the named playbooks and their sizes")
    listing.add_argument("--json", action="store_true", help="print it as JSON")
    show = verbs.add_parser("show", help="a named playbook's bullets (no NAME: the workspace's)")
    show.add_argument("name", nargs="?", help="a saved playbook; default: the active one")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    export = verbs.add_parser("export", help="save the workspace ACE playbook as NAME")
    export.add_argument("name", help="save the active playbook under this name")
    load = verbs.add_parser("import", help="replace the workspace ACE playbook with NAME")
    load.add_argument("name", help="a saved playbook (see playbook list)")


def playbook(args: argparse.Namespace, bench: Workbench) -> int:
    handler = {"list": _list, "show": _show, "export": _export, "import": _import}
    return handler[args.playbook_command](args, bench)


def _folder(bench: Workbench) -> Path:
    from continual_learning.core.paths import default_playbooks_dir

    return default_playbooks_dir(bench.config.engine("ace").playbook_dir)  # type: ignore[attr-defined]


def _list(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.engines.ace.playbook import Playbook
    from continual_learning.errors import PlaybookError
    from continual_learning.ui.render import playbooks_table

    rows: list[tuple[str, Playbook | str]] = []
    for path in sorted(_folder(bench).glob("*.json")):
        try:
            rows.append((path.stem, Playbook.load(path)))
        except PlaybookError as exc:  # list the others; say which file is broken
            rows.append((path.stem, str(exc)))
    if args.json:
        print_json([_summary(name, p) for name, p in rows])
    elif not rows:
        console.print(f"no playbooks in {_folder(bench)}")
    else:
        console.print(playbooks_table(rows))
    return 0


def _show(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.core.storage import safe_name
    from continual_learning.engines.ace.playbook import Playbook
    from continual_learning.ui.render import playbook_table

    if args.name:
        path = _folder(bench) / f"{safe_name(args.name, what='playbook name')}.json"
    else:
        path = bench.state_dir("ace") / "playbook.json"
        if not path.is_file():
            console.print("the workspace's ACE engine has learned nothing yet")
            return 0
    loaded = Playbook.load(path)
    if args.json:
        print_json(loaded.to_json())
    else:
        console.print(playbook_table(loaded, title=args.name or "workspace ACE playbook"))
    return 0


def _export(args: argparse.Namespace, bench: Workbench) -> int:
    path = _engine(bench).export_playbook(args.name)
    console.print(f"saved the playbook as {path}")
    return 0


def _import(args: argparse.Namespace, bench: Workbench) -> int:
    with bench.holding("ace"):
        engine = bench.reload("ace")  # what another process learned meanwhile is kept
        loaded = engine.import_playbook(args.name)
        bench.persist(engine)
    console.print(f"the workspace ACE engine now uses '{args.name}' ({len(loaded)} bullets)")
    return 0


def _engine(bench: Workbench) -> AceEngine:
    return bench.engine("ace")  # type: ignore[return-value]


def _summary(name: str, loaded: Playbook | str) -> dict[str, Any]:
    if isinstance(loaded, str):
        return {"name": name, "error": loaded}
    return {
        "name": name,
        "bullets": len(loaded),
        "helpful": sum(b.helpful for b in loaded.bullets),
        "harmful": sum(b.harmful for b in loaded.bullets),
    }
