"""The steps of `runinput resume`: gather the answer, check it, send it, follow.

Nothing is sent until the answer passes the local checks, the person confirms
it (unless `--yes` or no terminal) and a fresh read shows the run still
paused with the same pause. The server's verdict, read from the body's
`status`, decides: a rejected answer leaves the run paused, so the form asks
again on a terminal, and the command exits 1 without one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runinput import NotFoundError
from runinput.models import OrchestrationResult
from runinput.pause import Pause, rejection_error, send_resume
from runinput.schema import ValidationIssue, format_path

from . import console, render
from .answer_issues import (
    PLACEHOLDER_MESSAGE,
    check_answer,
    placeholder_paths,
    print_issues,
    value_at,
)
from .data_options import read_data_option
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, InvalidAnswerError
from .form import (
    UNSET,
    AnswerError,
    FieldKind,
    Form,
    FormField,
    Path,
    apply_assignments,
    fill_defaults,
    missing_required,
    parse_assignment,
)
from .output import format_time
from .prompts import (
    FormPrompter,
    ReadText,
    ask_form,
    ask_json_answer,
    confirm_answer,
    fix_issues,
)

if TYPE_CHECKING:
    from runinput import Client

    from .pause_reader import LoadedPause

FOLLOW_POLL_SECONDS = 0.5

_REJECTED_FIELD = re.compile(r"Validation failed for field '([^']+)'")

# Prefect 3.9 starts the reason with these when the answer itself is at fault
# (it failed validation, or a placeholder in it did not expand). Other
# rejections, such as a suspended run without a deployment, cannot be fixed
# by answering again.
_ANSWER_FAULT_PREFIXES = ("Reason: ", "Error hydrating run input:")


@dataclass
class ResumeOptions:
    """The options of one `resume` command."""

    assignments: list[str] = field(default_factory=list)
    data: str | None = None
    defaults: bool = False
    yes: bool = False
    interactive: bool = False
    allow_placeholders: bool = False
    follow_seconds: float = 0.0
    read_text: ReadText | None = None
    """Reads answers on a terminal; tests replace it."""


class Cancelled(Exception):
    """The person declined to send, or interrupted the form."""


def run_resume(client: Client, loaded: LoadedPause, options: ResumeOptions) -> int:
    """Answer a pause that `load_pause` read, and return the exit status."""
    pause = loaded.pause
    # A schema that is stored but unusable also leaves `pause.schema` empty;
    # `_resume_with_json` reports it and lets the server judge --data.
    if pause.schema_pending and loaded.schema_problem is None:
        return _failed(
            f"flow run {_name(pause)} is paused but has not stored its input "
            "schema yet",
            hint="try again in a moment; the flow writes it right after pausing",
        )
    if pause.is_expired():
        return _failed(_expired_message(pause))

    session = _Session(client, loaded, options)
    try:
        return session.run()
    except (KeyboardInterrupt, EOFError, Cancelled) as exc:
        console.stderr.print()
        reason = "Cancelled" if isinstance(exc, Cancelled) else "Interrupted"
        console.print_warning(f"{reason}; nothing was sent.")
        return EXIT_FAILED if isinstance(exc, Cancelled) else EXIT_INTERRUPTED


class _Session:
    """One resume: the pause, its form and the answer being built."""

    def __init__(
        self, client: Client, loaded: LoadedPause, options: ResumeOptions
    ) -> None:
        self.client = client
        self.pause = loaded.pause
        self.form = loaded.form
        self.schema_problem = loaded.schema_problem
        self.options = options
        self.prompter = FormPrompter(console.stderr, options.read_text)
        self.last_reason: str | None = None

    def run(self) -> int:
        if self.options.interactive:
            self._print_pause()
        if not self.pause.awaits_input:
            return self._resume_without_input()
        if self.form is None:
            return self._resume_with_json()
        return self._resume_with_form(self.form)

    # The three kinds of pause.

    def _resume_without_input(self) -> int:
        if self.options.data is not None or self.options.assignments:
            raise InvalidAnswerError(
                f"flow run {_name(self.pause)} awaits no input, so --data and "
                "--set do not apply",
                hint="leave out --data and --set to resume it",
            )
        if self.options.interactive and not self.options.yes:
            self._confirm(None, None, "Resume this flow run?")
        result = self._send(None)
        return EXIT_FAILED if result is None else result

    def _resume_with_json(self) -> int:
        console.print_error(str(self.schema_problem))
        answer = self._read_data()
        if answer is None and not self.options.interactive:
            return _failed(
                "there is no form for an invalid schema, and no --data was given",
                hint="pass the whole answer as JSON with --data; the server "
                "decides whether it fits",
            )
        if self.options.assignments:
            raise InvalidAnswerError(
                "--set needs a valid schema to parse values by their types",
                hint="pass the whole answer as JSON with --data instead",
            )
        if answer is None:
            console.stderr.print(
                "Enter the whole answer as one JSON object instead; the server "
                "checks it against the stored schema.",
                highlight=False,
            )
            answer = ask_json_answer(
                console.stderr,
                self.prompter.read_text,
                allow_placeholders=self.options.allow_placeholders,
            )
        placeholders = list(placeholder_paths(answer))
        if placeholders and not self.options.allow_placeholders:
            where = ", ".join(format_path(path) or "(answer)" for path in placeholders)
            raise InvalidAnswerError(
                f"the answer at {where} {PLACEHOLDER_MESSAGE}",
                hint="pass --allow-placeholders to send it for the server to replace",
            )
        while True:
            if self.options.interactive and not self.options.yes:
                self._confirm(None, answer, "Send this answer?")
            result = self._send(answer)
            if result is not None:
                return result
            answer = ask_json_answer(
                console.stderr,
                self.prompter.read_text,
                answer,
                self.options.allow_placeholders,
            )

    def _resume_with_form(self, form: Form) -> int:
        value, given, problems = self._initial_value(form)
        if self.options.interactive:
            if problems:
                print_issues(console.stderr, problems)
            value = self._ask(form, value, given)
        else:
            self._check_without_terminal(form, value, problems)

        while True:
            if self.options.interactive and not self.options.yes:
                while self._confirm(form, value, "Send this answer?") == "edit":
                    value = self._ask(form, value, None)
            result = self._send(value)
            if result is not None:
                return result
            value = self._ask_after_rejection(form, value)

    # Building the answer.

    def _initial_value(
        self, form: Form
    ) -> tuple[dict[str, Any], dict[str, Any], list[ValidationIssue]]:
        """Build the answer from --data, --set and the defaults.

        Returns the answer and the part that --data and --set gave. It also
        returns one issue per --set whose value does not parse, and leaves
        that field as it was.
        """

        given = self._read_data() or {}
        problems: list[ValidationIssue] = []
        for assignment in self.options.assignments:
            try:
                given = apply_assignments(form, given, [assignment])
            except AnswerError as exc:
                try:
                    path = parse_assignment(assignment)[0]
                except AnswerError:
                    path = ()
                message = str(exc).removeprefix(f"{format_path(path)}: ")
                problems.append(ValidationIssue(path, f"--set: {message}"))
        return fill_defaults(form, given), given, problems

    def _read_data(self) -> dict[str, Any] | None:
        if self.options.data is None:
            return None
        data = read_data_option(self.options.data)
        if not isinstance(data, dict):
            raise InvalidAnswerError(
                f"--data must be a JSON object, not {type(data).__name__}",
                hint="pass the answer's fields, as in --data '{\"approved\": true}'",
            )
        return data

    def _ask(
        self, form: Form, value: dict[str, Any], given: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Ask the fields on the terminal; `given` values are not asked first."""

        skip = self._skip_rule(given) if given is not None else None
        return ask_form(
            form,
            console.stderr,
            value,
            read_text=self.prompter.read_text,
            skip=skip,
            allow_placeholders=self.options.allow_placeholders,
        )

    def _skip_rule(self, given: dict[str, Any]) -> Any:
        defaults = self.options.defaults

        def skip(path: Path, form_field: FormField) -> bool:
            if form_field.kind is FieldKind.OBJECT and not form_field.nullable:
                # Ask a required model's own fields one by one instead.
                return False
            if value_at(given, path) is not UNSET:
                return True
            return defaults and form_field.has_default

        return skip

    def _check_without_terminal(
        self,
        form: Form,
        value: dict[str, Any],
        problems: list[ValidationIssue],
    ) -> None:
        """Raise `InvalidAnswerError` listing every missing or invalid value."""

        failed_paths = {problem.path for problem in problems}
        issues = [
            *problems,
            *(
                issue
                for issue in check_answer(form, value, self.options.allow_placeholders)
                if issue.path not in failed_paths
            ),
        ]
        if not issues:
            return
        missing = missing_required(form, value)
        if not problems and {issue.location for issue in issues} == set(missing):
            raise InvalidAnswerError(
                f"missing required values: {', '.join(missing)}",
                hint="give them with --set PATH=VALUE or --data, or answer on a "
                "terminal",
            )
        count = len(issues)
        lines = "\n  ".join(
            f"{issue.location or '(answer)'}: {issue.message}" for issue in issues
        )
        raise InvalidAnswerError(
            f"the answer has {count} {'problem' if count == 1 else 'problems'}:"
            f"\n  {lines}",
            hint="correct the values with --set PATH=VALUE or --data",
        )

    def _ask_after_rejection(self, form: Form, value: dict[str, Any]) -> dict[str, Any]:
        """Ask again after the server rejected `value`, starting with its field."""

        path = _rejected_path(self.last_reason or "")
        if path is None:
            self.prompter.ask_fields(form.fields, value)
            pending = None
        else:
            pending = [ValidationIssue(path, "the server rejected this value")]
        return fix_issues(
            self.prompter,
            form,
            value,
            allow_placeholders=self.options.allow_placeholders,
            issues=pending,
        )

    def _confirm(self, form: Form | None, value: Any, question: str) -> str:
        """Ask to send; raise `Cancelled` when the person declines."""

        if form is None and value is not None:
            console.stderr.print_json(data=value)
        decision = confirm_answer(
            form, value, console.stderr, self.prompter.read_text, question
        )
        if decision == "cancel":
            raise Cancelled
        return decision

    # Sending.

    def _send(self, value: dict[str, Any] | None) -> int | None:
        """Send the answer if the run still waits for it.

        Returns the exit status, or None when the server rejected the answer
        and the form should ask again.
        """
        try:
            self._check_still_paused()
        except _Stop as stop:
            return _failed(stop.message, stop.hint)
        # A resume whose response is lost is not sent again: the run's state
        # tells whether it was applied, or the error says it is unknown.
        result = send_resume(
            self.client, self.pause.flow_run.id, value, self.pause.keyset
        )
        if result.accepted:
            return self._after_accept()
        return self._after_refusal(result)

    def _check_still_paused(self) -> None:
        """Raise `_Stop` unless the run still waits in the same, unexpired pause."""
        name = _name(self.pause)
        try:
            current = self.client.read_flow_run(self.pause.flow_run.id)
        except NotFoundError:
            raise _Stop(
                f"flow run {name} was deleted while the form was open; nothing was sent"
            ) from None
        state = current.state
        if state is None or not state.is_paused:
            state_text = state.type if state else "without a state"
            raise _Stop(
                f"flow run {name} stopped being paused while the form was open "
                f"(it is {state_text} now); nothing was sent"
            )
        old_keyset = self.pause.keyset
        if state.state_details.run_input_keyset != old_keyset:
            raise _Stop(
                f"flow run {name} was resumed and paused again while the form "
                "was open; nothing was sent",
                hint="run the command again to answer the new pause",
            )
        fresh = Pause(current, self.pause.flow_name, old_keyset, None, None)
        if fresh.is_expired():
            raise _Stop(
                f"the pause of flow run {name} expired at "
                f"{format_time(fresh.pause_timeout)} while the form was open; nothing "
                "was sent"
            )

    def _after_refusal(self, result: OrchestrationResult) -> int | None:
        error = rejection_error(self.pause.flow_run.id, result)
        state_type = result.state.type if result.state else None
        if result.status == "REJECT" and state_type == "FAILED":
            return _failed(_expired_message(self.pause))
        if result.status != "REJECT":
            return _failed(str(error))

        self.last_reason = result.details.reason
        console.print_error(str(error))
        answer_at_fault = (self.last_reason or "").startswith(_ANSWER_FAULT_PREFIXES)
        if not (self.options.interactive and self.pause.awaits_input):
            return EXIT_FAILED
        if not answer_at_fault:
            return EXIT_FAILED
        console.stderr.print(
            "The run is still paused; correct the answer and send it again.",
            highlight=False,
        )
        return None

    def _after_accept(self) -> int:
        name = _name(self.pause)
        state = self.pause.flow_run.state
        if state is not None and state.state_details.pause_reschedule:
            console.print_success(
                f"Resumed flow run {name}; it was suspended, so it starts again "
                "when a worker picks it up."
            )
            return 0
        console.print_success(f"Resumed flow run {name}.")
        if self.options.follow_seconds <= 0:
            return 0
        try:
            return self._follow()
        except KeyboardInterrupt:
            console.stderr.print("Stopped following the run; it was resumed.")
            return 0

    def _follow(self) -> int:
        """Watch the run for a short while and report a failure right after resume."""
        run_id = self.pause.flow_run.id
        deadline = time.monotonic() + self.options.follow_seconds
        message = (
            f"Watching flow run {_name(self.pause)} for "
            f"{self.options.follow_seconds:g} s (Ctrl-C stops watching)…"
        )
        with console.stderr.status(message):
            while time.monotonic() < deadline:
                state = self.client.read_flow_run(run_id).state
                if state is not None and state.is_final:
                    return self._report_final(state.type, state.name, state.message)
                time.sleep(FOLLOW_POLL_SECONDS)
        return 0

    def _report_final(
        self, state_type: str, state_name: str | None, message: str | None
    ) -> int:
        name = _name(self.pause)
        if state_type == "COMPLETED":
            console.print_success(f"Flow run {name} completed.")
            return 0
        detail = f": {message}" if message else ""
        return _failed(
            f"flow run {name} is {state_name or state_type} right after it was "
            f"resumed{detail}",
            hint="the flow may have rejected the answer; its logs tell more",
        )

    # Output.

    def _print_pause(self) -> None:
        console.stderr.print(render.pause_header(self.pause), highlight=False)
        if self.pause.description:
            console.stderr.print()
            console.stderr.print(render.description_view(self.pause.description))
        console.stderr.print()


class _Stop(Exception):
    """The run can no longer take this answer; nothing is sent."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _rejected_path(reason: str) -> Path | None:
    """Read the field path from the server's rejection reason, if it names one."""

    match = _REJECTED_FIELD.search(reason)
    if match is None:
        return None
    try:
        path, _ = parse_assignment(f"{match.group(1)}=")
    except AnswerError:
        return None
    return path


def _failed(message: str, hint: str | None = None) -> int:
    console.print_error(message, hint)
    return EXIT_FAILED


def _name(pause: Pause) -> str:
    return f"{pause.flow_run.name} ({pause.flow_run.id})"


def _expired_message(pause: Pause) -> str:
    return (
        f"the pause of flow run {_name(pause)} expired at "
        f"{format_time(pause.pause_timeout)}, so it can no longer be answered"
    )
