"""Rich progress bars for pipeline stages."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class RichProgress:
    """A ProgressSink that draws one bar per stage on stderr."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish()
        self.progress.stop()

    def _finish(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[self.task]
            if task.total is None:
                self.progress.update(self.task, total=max(task.completed, 1))
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total)

    def stage(self, name: str, total: int | None = None) -> None:
        """Close the previous stage's bar and open one for `name`."""
        self._finish()
        self.task = self.progress.add_task(name, total=total, detail="")

    def advance(self, detail: str = "") -> None:
        """Advance the current bar by one step."""
        if self.task is not None:
            self.progress.update(self.task, advance=1, detail=detail)

    def fraction(self, name: str, done: float) -> None:
        """For callers that report a fraction (the generator): one 100-step bar per name."""
        if self.task is None or self.progress.tasks[self.task].description != name:
            self.stage(name, 100)
        assert self.task is not None
        self.progress.update(self.task, completed=round(done * 100))
