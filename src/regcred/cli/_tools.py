"""The doctor, migrate and export subcommands (CLI wiring only).

The work is done in ``regcred._tools`` (``doctor``, ``migrate``, ``export``); this module
turns flags into calls and results into lines.  Nothing here prints a secret,
except ``export`` writing its document where it was asked to.
"""

from __future__ import annotations

import argparse
import sys

from regcred.cli._args import CommonArgs

_SECRETS_ON_TERMINAL = (
    "regcred: warning: this output holds secrets (base64 is not encryption); redirect it or use -o FILE"
)


class DoctorArgs(CommonArgs):
    json: bool


def add_doctor_arguments(doctor: argparse.ArgumentParser) -> None:
    doctor.description = (
        "Show the config files in use, the store that holds each registry's "
        "credentials, the state of the Secret Service and pass, and every problem found "
        "(plaintext credentials, missing helpers, loose file modes, podman files that "
        "disagree). Exit 1 when something is broken or unsafe. Never prints a secret."
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")


class MigrateArgs(CommonArgs):
    to: str | None
    servers: list[str]
    dry_run: bool
    resume: bool


def add_migrate_arguments(migrate: argparse.ArgumentParser) -> None:
    migrate.description = (
        "Move every credential (or those of SERVER…) from where it is to STORE: "
        "'file' (config.json) or a helper name such as regcred-secretservice, regcred-pass, "
        "secretservice or pass. Each credential is copied, read back and compared before the "
        "source is erased and config.json is updated; any failure, Ctrl-C, SIGTERM or SIGHUP leaves "
        "everything as it was. A migrate that was killed is finished or undone by the next regcred "
        "login, logout or migrate, or by --resume."
    )
    migrate.add_argument("--to", metavar="STORE", help="'file' or a helper name (required)")
    migrate.add_argument(
        "--resume", action="store_true", help="only finish or undo an interrupted migrate, then stop"
    )
    migrate.add_argument("servers", metavar="SERVER", nargs="*", help="registries to move")
    migrate.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")


class ExportArgs(CommonArgs):
    servers: list[str]
    format: str
    json: bool
    output: str | None
    name: str
    namespace: str | None


def add_export_arguments(export: argparse.ArgumentParser) -> None:
    export.description = (
        "Write the credentials of SERVER… (default: every stored one) as a "
        "Kubernetes Secret of type kubernetes.io/dockerconfigjson (as kubectl create secret "
        "docker-registry writes it), or as a standalone config.json for CI. The output holds "
        "secrets: -o FILE is created with mode 0600."
    )
    export.add_argument("servers", metavar="SERVER", nargs="*", help="registries to export")
    export.add_argument("--format", choices=["k8s", "config"], default="k8s", help="k8s (default) or config")
    export.add_argument("--json", action="store_true", help="k8s: JSON instead of YAML")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600)")
    export.add_argument("--name", default="regcred", help="k8s: the Secret's name (regcred)")
    export.add_argument("--namespace", metavar="NS", help="k8s: the Secret's namespace")


def run_doctor(args: DoctorArgs) -> int:
    from regcred._tools import doctor as _doctor

    report = _doctor.diagnose(config_dir=args.config)
    if args.json:
        from regcred._gojson import dumps_indent

        sys.stdout.write(dumps_indent(report.to_json()) + "\n")
    else:
        sys.stdout.write(_doctor.render_text(report))
    return 0 if report.healthy else 1


def run_migrate(args: MigrateArgs) -> int:
    from regcred._tools import migrate as _migrate
    from regcred.errors import UsageError

    def say(line: str) -> None:
        print(line)

    if args.resume:
        if args.to is not None or args.servers or args.dry_run:
            raise UsageError("--resume takes no --to, SERVER or --dry-run")
        if not _migrate.resume_migrate(config_dir=args.config, say=say):
            say("no interrupted migrate to resume")
        return 0
    if args.to is None:
        raise UsageError("the following arguments are required: --to")
    _migrate.migrate(args.to, args.servers, dry_run=args.dry_run, config_dir=args.config, say=say)
    return 0


def run_export(args: ExportArgs) -> int:
    from regcred._tools import export as _export

    result = _export.export(
        args.servers,
        fmt=args.format,
        as_json=args.json,
        name=args.name,
        namespace=args.namespace,
        config_dir=args.config,
    )
    for key, why in result.skipped.items():
        print(f"regcred: skipped {key}: {why}", file=sys.stderr)
    if args.output and args.output != "-":
        _export.write_output(args.output, result.text)
        print(f"regcred: wrote {', '.join(result.keys)} to {args.output}", file=sys.stderr)
        return 0
    if sys.stdout.isatty():
        print(_SECRETS_ON_TERMINAL, file=sys.stderr)
    sys.stdout.write(result.text)
    return 0
