"""`make backup` / `make restore`: a round trip on a small database (SQLite in a temp VAR_DIR; PostgreSQL in CI)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from subventions.audit.sauvegardes import SauvegardeErreur, restaurer

RACINE = Path(__file__).resolve().parents[2]

ECRIRE = """
from pathlib import Path
from django.conf import settings
from subventions.comptes.models import User
User.objects.create_user(email="avant@sauvegarde.test", password="x" * 12)
dossier = Path(settings.MEDIA_ROOT) / "pieces"
dossier.mkdir(parents=True, exist_ok=True)
(dossier / "statuts.pdf").write_bytes(b"%PDF-1.4 statuts")
"""

ABIMER = """
from pathlib import Path
from django.conf import settings
from subventions.comptes.models import User
User.objects.filter(email="avant@sauvegarde.test").delete()
User.objects.create_user(email="apres@sauvegarde.test", password="x" * 12)
(Path(settings.MEDIA_ROOT) / "pieces" / "statuts.pdf").unlink()
(Path(settings.MEDIA_ROOT) / "pieces" / "nouveau.pdf").write_bytes(b"%PDF-1.4 nouveau")
"""

LIRE = """
import json
from pathlib import Path
from django.conf import settings
from subventions.comptes.models import User
media = Path(settings.MEDIA_ROOT)
print(json.dumps({
    "users": sorted(User.objects.values_list("email", flat=True)),
    "fichiers": sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()),
    "statuts": (media / "pieces" / "statuts.pdf").read_text() if (media / "pieces" / "statuts.pdf").exists() else None,
}))
"""


def _manage(env: dict, *args: str) -> str:
    resultat = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=RACINE, env=env, capture_output=True, text=True, timeout=480
    )
    assert resultat.returncode == 0, resultat.stderr[-3000:]
    return resultat.stdout


def _lire(env: dict) -> dict:
    return json.loads(_manage(env, "shell", "-v0", "-c", LIRE).strip().splitlines()[-1])


def _aller_retour(env: dict, var_dir: Path) -> None:
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "shell", "-c", ECRIRE)
    sortie = _manage(env, "sauvegarder")
    archive = Path(sortie.split("Sauvegarde écrite : ", 1)[1].split(" (", 1)[0])
    assert archive.parent == var_dir / "backups" and archive.name.startswith("sauvegarde-")
    with tarfile.open(archive) as tar:
        noms = tar.getnames()
    assert "manifeste.json" in noms and "media/pieces/statuts.pdf" in noms

    _manage(env, "shell", "-c", ABIMER)
    assert _lire(env)["users"] == ["apres@sauvegarde.test"]

    sortie = _manage(env, "restaurer", str(archive), "--noinput")
    assert "restaurée" in sortie
    etat = _lire(env)
    assert etat == {
        "users": ["avant@sauvegarde.test"],
        "fichiers": ["pieces/statuts.pdf"],
        "statuts": "%PDF-1.4 statuts",
    }


def _env(var_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SUBVENTIONS_", "DJANGO_"))}
    env.update(SUBVENTIONS_VAR_DIR=str(var_dir), CELERY_TASK_ALWAYS_EAGER="1", **extra)
    return env


def test_backup_and_restore_round_trip_on_sqlite(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    _aller_retour(_env(var_dir), var_dir)


@pytest.mark.postgres
def test_backup_and_restore_round_trip_on_postgresql(tmp_path, postgres_only):
    import psycopg
    from django.db import connection

    reglages = connection.settings_dict
    nom = f"h_sauvegarde_{uuid.uuid4().hex[:8]}"
    serveur = {"host": reglages["HOST"] or "127.0.0.1", "port": reglages["PORT"] or 5432, "user": reglages["USER"]}
    if reglages.get("PASSWORD"):
        serveur["password"] = reglages["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **serveur) as admin:
        admin.execute(f'CREATE DATABASE "{nom}"')
    try:
        motdepasse = f":{reglages['PASSWORD']}" if reglages.get("PASSWORD") else ""
        url = f"postgres://{serveur['user']}{motdepasse}@{serveur['host']}:{serveur['port']}/{nom}"
        var_dir = tmp_path / "var"
        var_dir.mkdir()
        _aller_retour(_env(var_dir, DATABASE_URL=url), var_dir)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **serveur) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{nom}" WITH (FORCE)')


def _archive(tmp_path: Path, membres: dict[str, bytes]) -> Path:
    chemin = tmp_path / "piege.tar.gz"
    with tarfile.open(chemin, "w:gz") as tar:
        for nom, contenu in membres.items():
            info = tarfile.TarInfo(nom)
            info.size = len(contenu)
            tar.addfile(info, io.BytesIO(contenu))
    return chemin


def test_an_archive_that_is_not_a_backup_or_escapes_its_folder_is_refused(tmp_path):
    with pytest.raises(SauvegardeErreur, match="manifeste absent"):
        restaurer(fichier=_archive(tmp_path, {"media/a.txt": b"a"}))
    with pytest.raises(SauvegardeErreur, match="illisible"):
        restaurer(fichier=_archive(tmp_path, {"manifeste.json": b"{}", "../../evade.txt": b"x"}))
    assert not (tmp_path.parent / "evade.txt").exists()
    with pytest.raises(SauvegardeErreur, match="introuvable"):
        restaurer(fichier=tmp_path / "absente.tar.gz")
