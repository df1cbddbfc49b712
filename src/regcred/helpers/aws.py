"""``docker-credential-regcred-aws``: credentials in AWS Secrets Manager, shared by a fleet.

One secret per registry under ``$REGCRED_AWS_PREFIX`` (default ``regcred/``);
see :mod:`regcred.stores.aws`.  Needs boto3 (the ``aws`` extra), which only
this helper imports, and only when it runs an action.
"""

from __future__ import annotations

from regcred.helpers._protocol import run

__all__ = ["main"]


def main() -> int:
    """Entry point of the console script."""
    from regcred.stores.aws import AwsSecretsManagerStore

    return run(AwsSecretsManagerStore, "docker-credential-regcred-aws")


if __name__ == "__main__":
    raise SystemExit(main())
