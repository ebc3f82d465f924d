"""Write ``assets/architecture.html`` from the engine registry, so that the page cannot go stale.

The layers are boxes that wrap to the window (no fixed-size drawing to clip); the engines, their
kind and what their ``learn`` and ``generate`` do come from each package's ``SPEC``
(``engines/<name>/__init__.py``). A test runs ``--check``, which exits 1 when the shipped page
differs from what the registry says now.

    .venv/bin/python scripts/architecture_page.py            # rewrite the page
    .venv/bin/python scripts/architecture_page.py --check    # is the shipped page current?
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

from continual_learning.core.storage import atomic_write_text
from continual_learning.engines.registry import engine_specs
from continual_learning.engines.spec import EngineSpec

PAGE = Path(__file__).resolve().parents[1] / "assets" / "architecture.html"

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.layer { border: 1px solid #888; border-radius: 8px; padding: .6em .9em; margin: 0 0 .4em; }
.arrow { text-align: center; color: #888; margin: 0 0 .4em; }
.faces, .core { background: #f5f5f5; } .interface { background: #e8f5e9; }
.chips { display: flex; flex-wrap: wrap; gap: .5em; margin-top: .4em; }
.chip { border: 1px solid #bbb; border-radius: 6px; padding: .2em .6em; }
.chip small { color: #555; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { border: 1px solid #ccc; padding: .4em .6em; vertical-align: top; text-align: left;
         overflow-wrap: anywhere; }
th { background: #f3f3f3; }
.weights { background: #fff4e5; } .context { background: #eaf4ff; }
.baseline { background: #f5f5f5; }
code { font-size: .92em; }
"""

BASELINE_KINDS = ("floor", "ceiling", "reading ceiling")


def _css_class(spec: EngineSpec) -> str:
    return "baseline" if spec.kind in BASELINE_KINDS else spec.kind


def _chip(spec: EngineSpec) -> str:
    name, kind = html.escape(spec.display_name), html.escape(spec.kind)
    return f'<span class="chip {_css_class(spec)}"><b>{name}</b> <small>{kind}</small></span>'


def _row(spec: EngineSpec) -> str:
    cells = (spec.display_name, spec.kind, spec.learns, spec.answers)
    tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
    name = html.escape(spec.display_name, quote=True)
    return f'<tr class="{_css_class(spec)}" data-engine="{name}">{tds}</tr>'


def render(specs: list[EngineSpec]) -> str:
    """The page for ``specs``, in registry order."""
    baselines = sum(spec.kind in BASELINE_KINDS for spec in specs)
    methods = len(specs) - baselines
    chips = "\n".join(_chip(spec) for spec in specs)
    rows = "\n".join(_row(spec) for spec in specs)
    title = f"continual-learning: {methods} engines and {baselines} baselines behind one interface"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{title}</h1>
<p>Written by <code>scripts/architecture_page.py</code> from the engine registry
(<code>engines/registry.py</code>, each engine's <code>SPEC</code>). The menu, the command line,
the harness and the benchmarks call only the interface in <code>engines/base.py</code> and look
engines up in the registry; mechanics two engines share live in <code>core/</code>.</p>

<div class="layer faces"><b>Faces</b>: the menu (<code>cli/menu.py</code>) · the command line
(<code>cli/main.py</code>) · the Python API (<code>workbench.py</code>) · the harness and the
benchmarks (<code>harness/</code>, <code>scripts/</code>)<br>
the workbench: each engine's state in the workspace under per-engine locks, checkpoints,
config layers</div>
<div class="arrow">↓</div>
<div class="layer interface"><b>Engine interface</b> (<code>engines/base.py</code>):
<code>learn(text)</code> · <code>generate</code> / <code>generate_many(prompts)</code> ·
<code>answer(questions)</code> · <code>clear()</code> · <code>save</code> / <code>load</code> ·
<code>info()</code> · <code>lora_adapter()</code> · an engine's own actions
(<code>engines/actions.py</code>), given a narrow session (<code>engines/session.py</code>)</div>
<div class="arrow">↓</div>
<div class="layer"><b>Engines</b> (<code>engines/&lt;name&gt;/</code>: a handful of files, each
naming its one idea)
<div class="chips">
{chips}
</div></div>
<div class="arrow">↓</div>
<div class="layer core"><b>core/</b>: backbone (batched generation, prefix cache) · self_study
(distillation, the forgetting guard) · scope (TF-IDF routing) · lora (peft, folding) ·
self_questions · scoring (official SQuAD) · storage (atomic, safetensors + JSON) · locks</div>

<h2>What each engine's <code>learn</code> and <code>generate</code> do</h2>
<table id="engines">
<tr><th>engine</th><th>kind</th><th><code>learn(document)</code></th><th><code>generate(question)</code></th></tr>
{rows}
</table>
<p>Measured figures for each: <code>docs/results.md</code>. Engine details:
<code>docs/engines/</code>.</p>
</body>
</html>
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the shipped page is not current"
    )
    parser.add_argument("--out", type=Path, default=PAGE, help=f"default: {PAGE}")
    args = parser.parse_args()
    page = render(engine_specs())
    if args.check:
        current = args.out.is_file() and args.out.read_text(encoding="utf-8") == page
        if not current:
            print(f"{args.out} is stale: run scripts/architecture_page.py", file=sys.stderr)
        return 0 if current else 1
    atomic_write_text(args.out, page)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
