"""Backups: the database (pg_dump, or SQLite's online backup API) and the media folder in one timestamped archive.

Used by `manage.py sauvegarder` / `manage.py restaurer` (`make backup` / `make restore FILE=…`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

FORMAT = "subventions-sauvegarde/1"
FICHIER_SQLITE = "base.sqlite3"
FICHIER_PG = "base.dump"


class SauvegardeErreur(Exception):
    """A backup or a restore that cannot be done; the message is French and printed as is."""


def _base(alias: str = "default") -> dict:
    return settings.DATABASES[alias]


def moteur(alias: str = "default") -> str:
    engine = _base(alias)["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine or "postgis" in engine:
        return "postgresql"
    raise SauvegardeErreur(f"Moteur de base non pris en charge par la sauvegarde : {engine}.")


def _env_pg(base: dict) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore; the password goes through the environment, never argv."""
    args = []
    if base.get("HOST"):
        args += ["--host", str(base["HOST"])]
    if base.get("PORT"):
        args += ["--port", str(base["PORT"])]
    if base.get("USER"):
        args += ["--username", str(base["USER"])]
    env = {**os.environ}
    if base.get("PASSWORD"):
        env["PGPASSWORD"] = str(base["PASSWORD"])
    return args, env


def _lancer(commande: list[str], env: dict[str, str]) -> None:
    resultat = subprocess.run(commande, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if resultat.returncode != 0:
        raise SauvegardeErreur(f"{commande[0]} a échoué : {resultat.stderr.strip()[:2000]}")


def sauvegarder(*, dossier: Path | None = None, alias: str = "default") -> Path:
    """Write `sauvegarde-AAAAMMJJ-HHMMSS.tar.gz` (database, media, manifest) in `dossier` (var/backups/)."""
    dossier = Path(dossier or Path(settings.VAR_DIR) / "backups")
    dossier.mkdir(parents=True, exist_ok=True)
    base = _base(alias)
    genre = moteur(alias)
    horodatage = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    cible = dossier / f"sauvegarde-{horodatage}.tar.gz"
    n = 1
    while cible.exists():
        n += 1
        cible = dossier / f"sauvegarde-{horodatage}-{n}.tar.gz"
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="sauvegarde-") as tmp:
        tmp = Path(tmp)
        if genre == "sqlite":
            fichier_base = tmp / FICHIER_SQLITE
            # The online backup API copies a consistent snapshot even while the server and the worker write.
            source = sqlite3.connect(str(base["NAME"]))
            copie = sqlite3.connect(str(fichier_base))
            try:
                with copie:
                    source.backup(copie)
            finally:
                copie.close()
                source.close()
        else:
            fichier_base = tmp / FICHIER_PG
            args, env = _env_pg(base)
            _lancer(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-acl",
                    *args,
                    "--file",
                    str(fichier_base),
                    str(base["NAME"]),
                ],
                env,
            )
        nb_media = sum(1 for p in media.rglob("*") if p.is_file()) if media.is_dir() else 0
        manifeste = {
            "format": FORMAT,
            "cree_le": timezone.now().isoformat(),
            "moteur": genre,
            "base": fichier_base.name,
            "fichiers_media": nb_media,
        }
        (tmp / "manifeste.json").write_text(json.dumps(manifeste, ensure_ascii=False, indent=2), encoding="utf-8")
        partiel = cible.with_suffix(".partiel")
        with tarfile.open(partiel, "w:gz") as archive:
            archive.add(tmp / "manifeste.json", arcname="manifeste.json")
            archive.add(fichier_base, arcname=fichier_base.name)
            if media.is_dir():
                archive.add(media, arcname="media")
        # A half-written archive never carries the final name.
        partiel.rename(cible)
    return cible


def restaurer(*, fichier: Path, alias: str = "default") -> dict:
    """Replace the database and the media folder by those of the archive `fichier`. Returns its manifest."""
    fichier = Path(fichier)
    if not fichier.is_file():
        raise SauvegardeErreur(f"Archive introuvable : {fichier}.")
    base = _base(alias)
    genre = moteur(alias)
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="restauration-") as tmp:
        tmp = Path(tmp)
        try:
            with tarfile.open(fichier, "r:gz") as archive:
                # The "data" filter refuses absolute paths, "..", links out of the folder and device files.
                archive.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise SauvegardeErreur(f"Archive illisible : {exc}.") from exc
        try:
            manifeste = json.loads((tmp / "manifeste.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SauvegardeErreur("Ce fichier n'est pas une sauvegarde de Subventions (manifeste absent).") from exc
        if manifeste.get("format") != FORMAT:
            raise SauvegardeErreur(f"Format de sauvegarde inconnu : {manifeste.get('format')}.")
        if manifeste.get("moteur") != genre:
            raise SauvegardeErreur(
                f"Sauvegarde d'une base {manifeste.get('moteur')}, base actuelle {genre} : restauration impossible."
            )
        fichier_base = tmp / manifeste["base"]
        connections[alias].close()
        if genre == "sqlite":
            source = sqlite3.connect(str(fichier_base))
            destination = sqlite3.connect(str(base["NAME"]))
            try:
                with destination:
                    source.backup(destination)
            finally:
                destination.close()
                source.close()
        else:
            args, env = _env_pg(base)
            _lancer(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-acl",
                    "--single-transaction",
                    *args,
                    "--dbname",
                    str(base["NAME"]),
                    str(fichier_base),
                ],
                env,
            )
        nouveau = tmp / "media"
        nouveau.mkdir(exist_ok=True)
        # Swap folders rather than copy over: files added since the backup do not survive the restore.
        media.parent.mkdir(parents=True, exist_ok=True)
        entrant = media.with_name(media.name + ".restauration")
        ancien = media.with_name(media.name + ".avant-restauration")
        shutil.rmtree(entrant, ignore_errors=True)
        shutil.rmtree(ancien, ignore_errors=True)
        shutil.copytree(nouveau, entrant)
        if media.exists():
            media.rename(ancien)
        entrant.rename(media)
        shutil.rmtree(ancien, ignore_errors=True)
    return manifeste
