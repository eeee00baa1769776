"""What a run prints: config summary, progress, results table with the book's figures, errors."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from dlwp_cli.errors import DlwpError

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def config_tree(cfg, title: str = "config") -> Tree:
    """The composed config as a rich tree."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    tree = Tree(f"[bold]{title}[/]")

    def add(branch, node):
        for key, value in node.items():
            if isinstance(value, DictConfig):
                add(branch.add(f"[cyan]{key}[/]"), value)
            elif isinstance(value, ListConfig):
                branch.add(f"[cyan]{key}[/]: {OmegaConf.to_container(value, resolve=True)}")
            else:
                branch.add(f"[cyan]{key}[/]: {value}")

    add(tree, cfg)
    return tree


def summary(cfg, choices: dict, run_dir) -> None:
    """One line per choice that shapes the run."""
    console.rule(f"[bold]dlwp run[/] {cfg.name}")
    parts = [f"{group}={choices.get(group)}" for group in ("task", "model", "optimizer", "strategy", "trainer")]
    console.print("  ".join(parts))
    console.print(
        f"epochs={cfg.epochs}  batch_size={cfg.batch_size}  seed={cfg.seed}  source={cfg.source}  "
        f"steps_per_execution={cfg.performance.steps_per_execution}  jit_compile={cfg.performance.jit_compile}"
    )
    console.print(f"run folder: {run_dir}")


def results(metrics: dict, checks: list[dict]) -> None:
    """Final metrics, then each book figure with the measured value and the delta."""
    table = Table(title="Results", show_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for section in ("test", "cv.mean"):
        values = metrics.get("test") if section == "test" else metrics.get("cv", {}).get("mean")
        for key, value in (values or {}).items():
            table.add_row(f"{section}.{key}", f"{value:.4f}")
    if metrics.get("best_epoch"):
        table.add_row("best_epoch", str(metrics["best_epoch"]))
    for name, value in metrics.get("baselines", {}).items():
        table.add_row(f"chance ({name})", f"{value:.4f}")
    console.print(table)
    if checks:
        book = Table(title="Against the book", show_edge=False)
        for column in ("metric", "book", "measured", "delta", "band", "in band"):
            book.add_column(column, justify="left" if column == "metric" else "right")
        for c in checks:
            measured = "-" if c["measured"] is None else f"{c['measured']:.4g}"
            delta = "-" if c["delta"] is None else f"{c['delta']:+.4g}"
            band = f"{c['band'][0]}-{c['band'][1]}" if c.get("band") else "-"
            mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[c["in_band"]]
            figure = "-" if c.get("book") is None else f"{c['book']:.4g}"
            book.add_row(c["metric"], figure, measured, delta, band, mark)
        console.print(book)


def error(err: DlwpError | str) -> None:
    title = err.title if isinstance(err, DlwpError) else "error"
    errors.print(f"[bold red]dlwp {title}:[/] {err}", soft_wrap=True)
