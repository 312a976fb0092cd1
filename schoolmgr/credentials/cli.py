"""`flask credentials generate-key|retire-key|keys|issue-missing` for operators."""

import click
from flask.cli import AppGroup

from schoolmgr.credentials import keys
from schoolmgr.credentials.services import issue_missing

credentials_cli = AppGroup("credentials", help="Open Badges 3.0 credentials and signing keys.")


@credentials_cli.command("generate-key")
@click.option("--id", "key_id", help="Key id (default: today's date and a thumbprint).")
def generate_key_command(key_id: str | None) -> None:
    """Write a new Ed25519 signing key into CREDENTIAL_KEYS_DIR; it signs from the next start."""
    try:
        key_id, path = keys.generate_key(keys.keys_dir(), key_id)
    except keys.SigningKeyError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Wrote {path} (key id {key_id}). Back it up; restart the app to sign with it.")


@credentials_cli.command("retire-key")
@click.argument("key_id")
def retire_key_command(key_id: str) -> None:
    """Drop the private half of a key: it stays published so its credentials stay verifiable."""
    path = keys.keys_dir() / f"{key_id}.pem"
    if not path.is_file():
        raise click.ClickException(f"No key file {path}.")
    try:
        keys.retire_key(keys.keys_dir(), key_id)
    except keys.SigningKeyError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{path} now holds only the public key.")


@credentials_cli.command("keys")
def keys_command() -> None:
    """List the keys: which one signs, which are published only."""
    try:
        ring = keys.key_ring()
    except keys.SigningKeyError as err:
        raise click.ClickException(str(err)) from err
    for school_key in ring.keys.values():
        role = (
            "signs"
            if school_key is ring.signing
            else ("private, published" if school_key.private else "public only, published")
        )
        click.echo(f"{school_key.key_id}\t{role}")


@credentials_cli.command("issue-missing")
def issue_missing_command() -> None:
    """Issue the credentials of certificates issued before credentials existed."""
    click.echo(f"Credentials issued: {issue_missing()}")
