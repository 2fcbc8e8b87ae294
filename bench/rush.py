"""Deadline rush: N porteurs deposit their complete demandes at the same moment, over loopback, against gunicorn and
PostgreSQL. `python bench/rush.py [--quick] [--users N] [--rounds R] [--keep]`, or `rush.run(report, …)` from run.py.

Everything happens in a child process with an environment of its own, so that the caller's Django (SQLite or
another database) is never touched: a new PostgreSQL database `bench_rush_<pid>` on DATABASE_URL's server (or
postgres://postgres@127.0.0.1:5432), migrated, seeded (`seed_demo --scale small`: the current campagne, open today),
then N porteurs each with a représentant légal and R + 1 complete brouillons written with the ORM. gunicorn serves
the project on a free loopback port; the users' sessions are created server-side (SessionStore, as
`django.contrib.auth.login` writes them: porteurs have no TOTP, so nothing is skipped that a porteur goes through).

Per round: the N users GET their deposit step at once (CSRF token), then POST the deposit at once. A last round
posts every deposit twice at the same moment (double submit). The floor is N concurrent GETs of the login page
served by the same gunicorn. The database is then checked: every demande posted is deposited exactly once (one
number, one `deposer` log row, one récépissé, one deposit notice in the outbox), and the numbers have no gap.
gunicorn is stopped and the database dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SERVEUR_PAR_DEFAUT = "postgres://postgres@127.0.0.1:5432"
HOTE = "127.0.0.1"
# Sync workers: a deposit is CPU work (forms, snapshot, récépissé PDF with reportlab) and short row locks, on a
# 2-core machine; threads would only share one GIL per process. 2 × cores, as gunicorn's documentation suggests
# for sync workers; the rest of the burst waits in the listen backlog (2048), it is not refused.
WORKERS = int(os.environ.get("RUSH_WORKERS", 0)) or 2 * (os.cpu_count() or 2)
DELAI_REQUETE = 180.0  # seconds: a request slower than this counts as an error (the burst stays bounded)
P99_CIBLE_MS = 2000.0
NICE_WORKER = 19
MARQUE = "RUSH "  # the child's result lines


# --- Parent side: run the child, print the figures ----------------------------------------------------------------


def run(
    report,
    *,
    users: int | None = None,
    rounds: int | None = None,
    quick: bool = False,
    keep: bool = False,
    migrate: bool = False,
):
    """Run the rush in a child process and print its figures on `report` (bench.harness.Report)."""
    from bench.harness import Figure

    users = users or (20 if quick else 100)
    rounds = rounds or (1 if quick else 2)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    commande = [sys.executable, str(Path(__file__).resolve()), "--child", f"--users={users}", f"--rounds={rounds}"]
    if keep:
        commande.append("--keep")
    if migrate:
        commande.append("--migrate")
    resultat = None
    with subprocess.Popen(commande, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as enfant:
        for ligne in enfant.stdout:
            ligne = ligne.rstrip("\n")
            if ligne.startswith(MARQUE):
                resultat = json.loads(ligne[len(MARQUE) :])
            elif ligne:
                report.note(ligne)
    if enfant.returncode or resultat is None:
        report.note(f"rush: the child failed (exit code {enfant.returncode})")
        report.miss("rush did not run to the end")
        return None

    r = resultat
    depot, plancher, page = r["deposit"], r["floor"], r["page"]
    report.figure(Figure("rush.deposit", depot["p50"], plancher["p50"], "ms"))
    report.fact(
        f"rush.deposit.latency: p50 {depot['p50']:.0f} ms, p99 {depot['p99']:.0f} ms, max {depot['max']:.0f} ms; "
        f"floor p50 {plancher['p50']:.0f} ms, p99 {plancher['p99']:.0f} ms ({depot['n']} deposits, "
        f"{r['users']} at once × {r['rounds']} rounds)"
    )
    report.fact(
        f"rush.deposit.throughput: {depot['rps']:.1f} requests/s, floor {plancher['rps']:.1f} requests/s "
        "(median of the rounds: requests / wall time of the burst)"
    )
    cpu = r["cpu"]
    report.figure(Figure("rush.deposit_cpu", cpu["deposit"], cpu["floor"], "ms"))
    coeurs = os.cpu_count() or 2
    report.note(
        "rush.deposit_cpu: CPU time of gunicorn's workers per request during the burst (/proc), deposit POST "
        f"against the login GET; PostgreSQL's own CPU not included. {r['users']} deposits at once need at least "
        f"{cpu['deposit'] * r['users'] / 1000 / coeurs:.1f} s of the whole machine ({coeurs} cores)"
    )
    if "postgres" in cpu:
        report.fact(
            f"rush.deposit_cpu.postgres: {cpu['postgres']:.1f} ms of PostgreSQL CPU per deposit (every backend of the "
            f"server during the burst); with gunicorn's, {r['users']} deposits need "
            f"{(cpu['deposit'] + cpu['postgres']) * r['users'] / 1000 / coeurs:.1f} s of the {coeurs} cores"
        )
    report.figure(Figure("rush.deposit_page", page["p50"], plancher["p50"], "ms"))
    report.fact(f"rush.deposit_page.latency: p50 {page['p50']:.0f} ms, p99 {page['p99']:.0f} ms (GET of the step)")
    double = r["double"]
    report.fact(
        f"rush.double_submit: {double['n']} POSTs ({double['users']} users × 2 at once), p50 {double['p50']:.0f} ms, "
        f"p99 {double['p99']:.0f} ms, statuses {double['statuts']}"
    )
    report.fact(
        f"rush.errors: {r['errors']} of {r['requests']} requests" + (f" ({r['error_kinds']})" if r["errors"] else "")
    )
    rec = r.get("recepisses")
    if rec:
        report.fact(
            f"rush.recepisses: {rec['n']} of {rec['attendus']} rendered by the Celery worker, the last "
            f"{rec['apres_s']:.1f} s after the last burst ended; worker CPU {rec['cpu_ms']:.0f} ms per récépissé"
        )
    verif = r["check"]
    report.fact(
        f"rush.exactly_once: {'ok' if verif['ok'] else 'FAILED'} — {verif['posted']} demandes posted, "
        f"{verif['deposited']} deposited, {verif['numbers']} distinct numbers (no gap: {verif['contiguous']}), "
        f"{verif['logs']} deposit log rows, {verif['recepisses']} récépissés, {verif['notices']} deposit notices"
        + (f"; problems: {'; '.join(verif['problems'][:5])}" if verif["problems"] else "")
    )
    if r["errors"]:
        report.miss(f"rush.deposit {r['errors']} errors")
    if not verif["ok"]:
        report.miss("rush.exactly_once failed: " + "; ".join(verif["problems"][:3]))
    if depot["p99"] > P99_CIBLE_MS:
        report.miss(f"rush.deposit p99 {depot['p99']:.0f} ms > {P99_CIBLE_MS:.0f} ms")
    return resultat


# --- Child side ----------------------------------------------------------------------------------------------------


def _url_base(nom: str) -> tuple[str, str]:
    """(URL of the new database, URL of the server's maintenance database) from DATABASE_URL's server."""
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        source = SERVEUR_PAR_DEFAUT + "/postgres"
    parts = urlsplit(source)
    return (
        urlunsplit((parts.scheme, parts.netloc, f"/{nom}", parts.query, "")),
        urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, "")),
    )


def _psql(url_maintenance: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url_maintenance, autocommit=True) as conn:
        conn.execute(sql)


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind((HOTE, 0))
        return s.getsockname()[1]


def _environnement(var_dir: str, url: str, broker: str = "filesystem://") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="subventions.settings",
        DATABASE_URL=url,
        SUBVENTIONS_VAR_DIR=var_dir,
        SUBVENTIONS_PROFILE="development",  # plain HTTP on loopback; the rest as in production (DEBUG off)
        DJANGO_DEBUG="0",
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="0",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    # Persistent database connections, the production profile's default (settings.py), unless the caller chose.
    env.setdefault("DATABASE_CONN_MAX_AGE", "60")
    env.pop("CACHE_URL", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _broker_redis() -> tuple[str, int] | None:
    """An empty Redis database on 127.0.0.1:6379 for this run's queue (the production broker), or None when
    Redis does not answer (the run then uses the filesystem broker in its temporary folder)."""
    try:
        import redis
    except ImportError:
        return None
    try:
        for numero in range(1 + os.getpid() % 15, 16):
            client = redis.Redis(host=HOTE, port=6379, db=numero, socket_connect_timeout=1)
            if client.dbsize() == 0:
                return f"redis://{HOTE}:6379/{numero}", numero
    except redis.RedisError:
        return None
    return None


def _vider_redis(numero: int) -> None:
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis(host=HOTE, port=6379, db=numero, socket_connect_timeout=1).flushdb()


def _preparer(users: int, par_user: int, prefixe: str = "rush") -> dict:
    """N porteurs, each with a représentant légal (no TOTP), its vault and `par_user` complete brouillons of the
    open campagne, written in bulk. Returns the users' sessions and their demandes' ids."""
    import hashlib
    from datetime import date
    from decimal import Decimal

    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.utils import timezone

    from associations.enums import RoleMembre
    from associations.models import Membre, Piece, Porteur
    from subventions.campagnes.models import Campagne
    from subventions.comptes.models import User
    from subventions.demandes.enums import SENS_PAR_COMPTE
    from subventions.demandes.etapes import demande_manques
    from subventions.demandes.models import Demande, Indicateur, LigneBudget, LigneFinancement, PieceDemande
    from subventions.referentiel.models import QPV

    maintenant = timezone.now()
    campagne = Campagne.objects.filter(ouverture__lte=maintenant, cloture__gt=maintenant).order_by("-exercice").first()
    if campagne is None:
        raise RuntimeError("no campagne open today in the seeded demo")
    financeurs = list(campagne.financeurs.order_by("code"))
    objectif = campagne.objectifs.order_by("pk").first()
    qpv = QPV.objects.order_by("pk").first()
    types = list(campagne.pieces_requises.order_by("pk"))

    import io

    from reportlab.pdfgen import canvas

    tampon = io.BytesIO()
    pdf = canvas.Canvas(tampon)
    pdf.drawString(72, 720, "Pièce de l'essai de charge")
    pdf.showPage()
    pdf.save()
    contenu_pdf = tampon.getvalue()

    with transaction.atomic():
        mot_de_passe = make_password(None)  # unusable: they never log in with a password here
        comptes = User.objects.bulk_create(
            [
                User(
                    email=f"{prefixe}{i:04d}@charge.test",
                    first_name="Camille",
                    last_name=f"Rush{i}",
                    password=mot_de_passe,
                )
                for i in range(users)
            ]
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in comptes]
        )
        porteurs = Porteur.objects.bulk_create(
            [
                Porteur(
                    nom=f"Association de l'essai de charge n° {i}",
                    siret="",
                    adresse="1 place de la Charge",
                    code_postal="13001",
                    commune="Marseille",
                    email=f"contact.{prefixe}{i:04d}@charge.test",
                    representant_nom=f"Rush{i}",
                    representant_prenom="Camille",
                    representant_qualite="Présidente",
                    iban="FR7630001007941234567890185",
                    bic="BDFEFRPPCCT",
                )
                for i in range(users)
            ]
        )
        Membre.objects.bulk_create(
            [
                Membre(porteur=p, user=u, role=RoleMembre.REPRESENTANT_LEGAL)
                for p, u in zip(porteurs, comptes, strict=True)
            ]
        )
        stockage = Piece._meta.get_field("fichier").storage
        pieces = []
        for p, u in zip(porteurs, comptes, strict=True):
            for t in types:
                nom = stockage.save(f"pieces/{p.pk}/rush-{t.code}.pdf", ContentFile(contenu_pdf))
                pieces.append(
                    Piece(
                        porteur=p,
                        type=t,
                        fichier=nom,
                        nom_original=f"{t.code}.pdf",
                        type_mime="application/pdf",
                        taille=len(contenu_pdf),
                        sha256=hashlib.sha256(contenu_pdf).hexdigest(),
                        valide_du=date(campagne.exercice - 1, 6, 1) if t.duree_validite_mois else None,
                        valide_au=date(campagne.exercice + 2, 6, 1) if t.duree_validite_mois else None,
                        depose_par=u,
                    )
                )
        pieces = Piece.objects.bulk_create(pieces)
        piece_de = {(pc.porteur_id, pc.type_id): pc for pc in pieces}
        demandes = Demande.objects.bulk_create(
            [
                Demande(
                    campagne=campagne,
                    porteur=p,
                    cree_par=u,
                    intitule=f"Action {r + 1} de l'association n° {i}",
                    objectifs_action="Favoriser l'expression écrite des jeunes du quartier.",
                    description="Deux ateliers par semaine, restitution publique en juin.",
                    public_nombre=40,
                    public_age_min=11,
                    public_age_max=17,
                    public_part_qpv=Decimal("85"),
                    public_description="Collégiens du quartier",
                    lieu="Centre social",
                    date_debut=date(campagne.exercice, 1, 15),
                    date_fin=date(campagne.exercice, 12, 15),
                )
                for r in range(par_user)
                for i, (p, u) in enumerate(zip(porteurs, comptes, strict=True))
            ]
        )
        Demande.qpvs.through.objects.bulk_create([Demande.qpvs.through(demande=d, qpv=qpv) for d in demandes])
        Demande.objectifs.through.objects.bulk_create(
            [Demande.objectifs.through(demande=d, objectif=objectif) for d in demandes]
        )
        Indicateur.objects.bulk_create(
            [Indicateur(demande=d, nom="Participants réguliers", cible="30") for d in demandes]
        )
        LigneBudget.objects.bulk_create(
            [
                LigneBudget(demande=d, compte=compte, sens=SENS_PAR_COMPTE[compte], montant=Decimal(montant))
                for d in demandes
                for compte, montant in (("64", "10000.00"), ("75", "2000.00"))
            ]
        )
        LigneFinancement.objects.bulk_create(
            [
                LigneFinancement(demande=d, financeur=f, montant_demande=Decimal("8000.00") if j == 0 else Decimal(0))
                for d in demandes
                for j, f in enumerate(financeurs)
            ]
        )
        PieceDemande.objects.bulk_create(
            [PieceDemande(demande=d, type=t, piece=piece_de[(d.porteur_id, t.pk)]) for d in demandes for t in types]
        )
    manques = demande_manques(demandes[0])
    if manques:
        raise RuntimeError(f"the prepared brouillon is not complete: {[m.message for m in manques]}")

    # Sessions as django.contrib.auth.login writes them (database sessions, read by every gunicorn worker).
    backend = settings.AUTHENTICATION_BACKENDS[0]
    sessions = []
    for u in comptes:
        session = SessionStore()
        session[SESSION_KEY] = str(u.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = u.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    # Round r uses the r-th brouillon of each user (bulk_create kept the order: round-major).
    par_tour = [[d.pk for d in demandes[r * users : (r + 1) * users]] for r in range(par_user)]
    return {"sessions": sessions, "tours": par_tour, "campagne": campagne.pk}


# --- A small HTTP/1.1 client on asyncio (one connection per request, as the sync workers close it) -----------------


class Reponse:
    __slots__ = ("statut", "entetes", "corps", "ms", "erreur")

    def __init__(self, statut=0, entetes=None, corps=b"", ms=0.0, erreur=""):
        self.statut, self.entetes, self.corps, self.ms, self.erreur = statut, entetes or [], corps, ms, erreur

    def entete(self, nom: str) -> list[str]:
        return [v for k, v in self.entetes if k == nom]


async def _requete(port: int, methode: str, chemin: str, cookies: dict, corps: bytes = b"") -> Reponse:
    debut = time.perf_counter()
    try:
        lecteur, ecrivain = await asyncio.open_connection(HOTE, port)
        lignes = [
            f"{methode} {chemin} HTTP/1.1",
            f"Host: {HOTE}:{port}",
            "Connection: close",
            "User-Agent: subventions-bench-rush",
            "Accept: text/html",
        ]
        if cookies:
            lignes.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        if methode == "POST":
            lignes += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(corps)}"]
        ecrivain.write(("\r\n".join(lignes) + "\r\n\r\n").encode("latin-1") + corps)
        await ecrivain.drain()
        brut = await asyncio.wait_for(lecteur.read(), DELAI_REQUETE)
        ecrivain.close()
    except (TimeoutError, OSError) as exc:
        return Reponse(ms=(time.perf_counter() - debut) * 1000, erreur=type(exc).__name__)
    ms = (time.perf_counter() - debut) * 1000
    tete, _sep, reste = brut.partition(b"\r\n\r\n")
    lignes_tete = tete.decode("latin-1").split("\r\n")
    try:
        statut = int(lignes_tete[0].split()[1])
    except (IndexError, ValueError):
        return Reponse(ms=ms, erreur="bad response")
    entetes = []
    for ligne in lignes_tete[1:]:
        nom, _s, valeur = ligne.partition(":")
        entetes.append((nom.strip().lower(), valeur.strip()))
    return Reponse(statut, entetes, reste, ms)


async def _rafale(coroutines) -> tuple[list[Reponse], float]:
    """All requests at once; returns the responses and the wall time of the burst (s)."""
    debut = time.perf_counter()
    reponses = await asyncio.gather(*coroutines)
    return list(reponses), time.perf_counter() - debut


RE_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def _cookie(reponse: Reponse, nom: str) -> str | None:
    for valeur in reponse.entete("set-cookie"):
        cle, _s, reste = valeur.partition("=")
        if cle.strip() == nom:
            return reste.split(";", 1)[0]
    return None


def _centile(valeurs: list[float], q: float) -> float:
    if not valeurs:
        return 0.0
    ordonnees = sorted(valeurs)
    rang = max(0, min(len(ordonnees) - 1, int(round(q / 100 * len(ordonnees) + 0.5)) - 1))
    return ordonnees[rang]


def _resume(ms: list[float], debits: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50": statistics.median(ms) if ms else 0.0,
        "p99": _centile(ms, 99),
        "max": max(ms) if ms else 0.0,
        "rps": statistics.median(debits) if debits else 0.0,
    }


def _attendre_serveur(port: int, processus: subprocess.Popen, delai: float = 60) -> None:
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        if processus.poll() is not None:
            raise RuntimeError(f"gunicorn stopped (exit code {processus.returncode})")
        r = asyncio.run(_requete(port, "GET", "/compte/login/", {}))
        if r.statut == 200:
            return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _verifier(tours_postes: list[list[int]], numero_avant: int, campagne_pk: int) -> dict:
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count

    from subventions.demandes.enums import StatutDemande
    from subventions.demandes.models import CompteurDossiers, Demande
    from subventions.demandes.tasks import modele_courriel_depot
    from workflows.models import Courriel, Document, TransitionLog

    ids = [pk for tour in tours_postes for pk in tour]
    problemes = []
    lignes = dict(Demande.objects.filter(pk__in=ids).values_list("pk", "statut"))
    numeros = dict(Demande.objects.filter(pk__in=ids).values_list("pk", "numero"))
    deposees = [pk for pk in ids if lignes.get(pk) == StatutDemande.DEPOSEE and numeros.get(pk)]
    if len(deposees) != len(ids):
        problemes.append(f"{len(ids) - len(deposees)} demandes posted but not deposited")
    distincts = {numeros[pk] for pk in deposees}
    if len(distincts) != len(deposees):
        problemes.append("duplicate dossier numbers")
    compteur = CompteurDossiers.objects.get(campagne_id=campagne_pk).dernier
    rangs = sorted(int(n.rsplit("-", 1)[1]) for n in distincts)
    contigus = rangs == list(range(numero_avant + 1, compteur + 1))
    if not contigus:
        problemes.append(f"numbers {rangs[:1]}…{rangs[-1:]} ≠ counter {numero_avant + 1}…{compteur}")
    ct = ContentType.objects.get_for_model(Demande)
    journal = dict(
        TransitionLog.objects.filter(content_type=ct, object_id__in=ids, transition="deposer")
        .values("object_id")
        .annotate(n=Count("pk"))
        .values_list("object_id", "n")
    )
    recepisses = dict(
        Document.objects.filter(content_type=ct, object_id__in=ids, nature="recepisse")
        .values("object_id")
        .annotate(n=Count("pk"))
        .values_list("object_id", "n")
    )
    modeles = {modele_courriel_depot(pk): pk for pk in ids}
    avis = {}
    for modele in Courriel.objects.filter(modele__in=list(modeles)).values_list("modele", flat=True):
        avis[modeles[modele]] = avis.get(modeles[modele], 0) + 1
    for nom, compte in (("deposit log rows", journal), ("récépissés", recepisses), ("deposit notices", avis)):
        mauvais = [pk for pk in ids if compte.get(pk, 0) != 1]
        if mauvais:
            problemes.append(f"{len(mauvais)} demandes without exactly one of the {nom} (e.g. #{mauvais[0]})")
    return {
        "ok": not problemes,
        "posted": len(ids),
        "deposited": len(deposees),
        "numbers": len(distincts),
        "contiguous": contigus,
        "logs": sum(journal.values()),
        "recepisses": sum(recepisses.values()),
        "notices": sum(avis.values()),
        "problems": problemes,
    }


def _processus():
    """(pid, command name, parent pid, CPU ticks used so far: user + system) of every process (Linux /proc)."""
    for entree in os.listdir("/proc"):
        if not entree.isdigit():
            continue
        try:
            with open(f"/proc/{entree}/stat") as f:
                tete, _sep, reste = f.read().rpartition(")")
        except OSError:
            continue
        champs = reste.split()
        yield int(entree), tete.partition("(")[2], int(champs[1]), int(champs[11]) + int(champs[12])


def _cpu_workers(maitre: int) -> float:
    """CPU seconds (user + system) used so far by gunicorn's workers: independent of the load that other processes
    put on the machine, unlike the latencies."""
    return sum(cpu for _pid, _nom, ppid, cpu in _processus() if ppid == maitre) / os.sysconf("SC_CLK_TCK")


def _cpu_postgres() -> float:
    """CPU seconds used so far by PostgreSQL's processes (every backend of the server: the rush's, and whatever else
    runs on it at the same time)."""
    return sum(cpu for _pid, nom, _ppid, cpu in _processus() if nom == "postgres") / os.sysconf("SC_CLK_TCK")


def _cpu_arbre(racine: int) -> float:
    """CPU seconds used so far by a process and its children (the Celery worker and its pool process)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    temps: dict[int, int] = {}
    for pid, _nom, ppid, cpu in _processus():
        parents[pid], temps[pid] = ppid, cpu
    arbre = {racine}
    for _ in range(4):  # nice → celery → pool process: a few levels at most
        arbre |= {pid for pid, ppid in parents.items() if ppid in arbre}
    return sum(temps.get(pid, 0) for pid in arbre) / tick


def _attendre_recepisses(ids: list[int], depuis: float, worker: subprocess.Popen, delai: float = 300) -> dict:
    """Wait (bounded) until the worker has rendered every deposited demande's récépissé; how long after the last
    burst it took."""
    from django.contrib.contenttypes.models import ContentType

    from subventions.demandes.models import Demande
    from workflows.models import Document

    ct = ContentType.objects.get_for_model(Demande)
    deposes = set(Demande.objects.filter(pk__in=ids).exclude(numero="").values_list("pk", flat=True))
    fin = time.monotonic() + delai
    faits: set[int] = set()
    while time.monotonic() < fin:
        faits = set(
            Document.objects.filter(content_type=ct, object_id__in=deposes, nature="recepisse").values_list(
                "object_id", flat=True
            )
        )
        if faits >= deposes:
            break
        if worker.poll() is not None:
            print(f"the Celery worker stopped (exit code {worker.returncode})", flush=True)
            break
        time.sleep(0.5)
    return {"n": len(faits), "attendus": len(deposes), "apres_s": time.perf_counter() - depuis}


def _arreter(gunicorn: subprocess.Popen) -> None:
    gunicorn.send_signal(signal.SIGTERM)  # graceful: the workers finish their requests (--graceful-timeout)
    try:
        gunicorn.wait(DELAI_REQUETE + 30)
    except subprocess.TimeoutExpired:
        gunicorn.kill()
        gunicorn.wait()


def _enfant(users: int, rounds: int, keep: bool, migrer: bool) -> int:
    nom = f"bench_rush_{os.getpid()}"
    url, url_maintenance = _url_base(nom)
    var_dir = tempfile.mkdtemp(prefix="subventions-rush-")
    redis_choisi = _broker_redis()
    env = _environnement(var_dir, url, redis_choisi[0] if redis_choisi else "filesystem://")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    gunicorn = None
    worker = None
    cree = False
    try:
        debut = time.perf_counter()
        _psql(url_maintenance, f'CREATE DATABASE "{nom}"')
        cree = True
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        if migrer:
            call_command("migrate", verbosity=0, interactive=False)
        else:
            # The tables straight from the models (as pytest-django's --nomigrations): the same schema, since
            # `makemigrations --check` holds, in seconds instead of minutes on a loaded machine. The one data
            # migration (types of pièces) is redone by the seed.
            from django.apps import apps
            from django.conf import settings as reglages

            reglages.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
            call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        maniere = "migrated" if migrer else "tables created from the models (--migrate runs the migrations)"
        print(f"database: postgresql {nom} ({maniere} in {time.perf_counter() - debut:.1f} s)", flush=True)
        debut = time.perf_counter()
        import io

        sortie = io.StringIO()
        call_command("seed_demo", scale="small", stdout=sortie, verbosity=1)
        print(f"seed_demo --scale small: {time.perf_counter() - debut:.1f} s", flush=True)
        debut = time.perf_counter()
        prep = _preparer(users, rounds + 1)
        from subventions.demandes.models import CompteurDossiers

        compteur = CompteurDossiers.objects.filter(campagne_id=prep["campagne"]).first()
        numero_avant = compteur.dernier if compteur else 0
        print(
            f"prepared {users} porteurs × {rounds + 1} complete brouillons and {users} sessions in "
            f"{time.perf_counter() - debut:.1f} s",
            flush=True,
        )
        connection.close()

        # The task queue's worker (récépissés, notices), niced below the web workers: the web answers first, the
        # background work uses what is left of the 2 cores (in production it runs on a machine of its own).
        worker = subprocess.Popen(
            [
                "nice",
                f"-n{NICE_WORKER}",
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "subventions",
                "--quiet",
                "worker",
                "--concurrency=1",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
        )
        print(
            f"celery worker: 1 process at nice {NICE_WORKER}, broker "
            + (redis_choisi[0] if redis_choisi else "filesystem:// (Redis did not answer)"),
            flush=True,
        )
        port = _port_libre()
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "subventions.wsgi:application",
                f"--bind={HOTE}:{port}",
                f"--workers={WORKERS}",
                "--worker-class=sync",
                f"--timeout={DELAI_REQUETE:.0f}",
                f"--graceful-timeout={DELAI_REQUETE:.0f}",
                "--backlog=2048",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=env,
        )
        _attendre_serveur(port, gunicorn)
        age = env.get("DATABASE_CONN_MAX_AGE", "0")
        print(
            f"gunicorn: {WORKERS} sync workers on {HOTE}:{port}; DATABASE_CONN_MAX_AGE={age} "
            + ("(a new PostgreSQL connection per request, the default)" if age == "0" else "(persistent connections)"),
            flush=True,
        )
        cpu_worker_avant = _cpu_arbre(worker.pid)
        resultat = asyncio.run(_rush(port, prep, users, rounds, gunicorn.pid))
        fin_rafales = time.perf_counter()
        # A graceful stop lets gunicorn finish what a client gave up on: the check then sees every request's effect.
        _arreter(gunicorn)
        gunicorn = None
        postes = [pk for tour in [*prep["tours"][:rounds], prep["tours"][rounds]] for pk in tour]
        resultat["recepisses"] = _attendre_recepisses(postes, fin_rafales, worker)
        resultat["recepisses"]["cpu_ms"] = (
            (_cpu_arbre(worker.pid) - cpu_worker_avant) * 1000 / max(1, resultat["recepisses"]["n"])
        )
        _arreter(worker)
        worker = None
        resultat["check"] = _verifier([*prep["tours"][:rounds], prep["tours"][rounds]], numero_avant, prep["campagne"])
        resultat.update(users=users, rounds=rounds)
        print(MARQUE + json.dumps(resultat), flush=True)
        return 0
    finally:
        if gunicorn is not None:
            _arreter(gunicorn)
        if worker is not None:
            _arreter(worker)
        if redis_choisi and not keep:
            _vider_redis(redis_choisi[1])
        if keep:
            print(f"kept: {var_dir} and database {nom}", flush=True)
        else:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001 - Django may not be set up yet
                pass
            if cree:
                _psql(url_maintenance, f'DROP DATABASE IF EXISTS "{nom}" WITH (FORCE)')
            shutil.rmtree(var_dir, ignore_errors=True)


async def _rush(port: int, prep: dict, users: int, rounds: int, maitre: int) -> dict:
    sessions = prep["sessions"]
    erreurs: dict[str, int] = {}
    requetes = 0

    def compter(reponses: list[Reponse], attendu) -> None:
        nonlocal requetes
        for r in reponses:
            requetes += 1
            if r.erreur or not attendu(r):
                cle = r.erreur or f"HTTP {r.statut}"
                erreurs[cle] = erreurs.get(cle, 0) + 1

    async def plancher() -> tuple[list[Reponse], float]:
        return await _rafale([_requete(port, "GET", "/compte/login/", {}) for _ in range(users)])

    async def pages(tour: list[int]) -> tuple[list[Reponse], float]:
        return await _rafale(
            [
                _requete(port, "GET", f"/demandes/{pk}/etapes/depot/", {"sessionid": sessions[i]})
                for i, pk in enumerate(tour)
            ]
        )

    def formulaire(reponse: Reponse) -> tuple[dict, bytes]:
        trouve = RE_CSRF.search(reponse.corps)
        jeton = _cookie(reponse, "csrftoken")
        corps = urlencode(
            {
                "csrfmiddlewaretoken": trouve.group(1).decode() if trouve else "",
                "nom": "Camille Rush",
                "qualite": "Présidente",
                "engagement_republicain": "on",
                "exactitude": "on",
            }
        ).encode()
        return {"csrftoken": jeton or ""}, corps

    def depose(pk: int):
        # A deposit answers with a redirect to the demande's page (its number and récépissé).
        return lambda r: r.statut == 302 and r.entete("location")[:1] == [f"/demandes/{pk}/"]

    # Warm every worker up (imports, templates) before measuring.
    await _rafale([_requete(port, "GET", "/compte/login/", {}) for _ in range(4 * WORKERS)])

    ms_plancher, debits_plancher, ms_depot, debits_depot, ms_page = [], [], [], [], []
    cpu_plancher, cpu_depot, cpu_pg = [], [], []
    for r in range(rounds):
        tour = prep["tours"][r]
        avant = _cpu_workers(maitre)
        rep, duree = await plancher()
        cpu_plancher.append((_cpu_workers(maitre) - avant) / len(rep) * 1000)
        compter(rep, lambda x: x.statut == 200)
        ms_plancher += [x.ms for x in rep]
        debits_plancher.append(len(rep) / duree)

        rep_pages, _duree = await pages(tour)
        compter(rep_pages, lambda x: x.statut == 200)
        ms_page += [x.ms for x in rep_pages]
        formulaires = [formulaire(x) for x in rep_pages]
        coros = []
        for i, pk in enumerate(tour):
            cookies, corps = formulaires[i]
            coros.append(
                _requete(port, "POST", f"/demandes/{pk}/etapes/depot/", {"sessionid": sessions[i], **cookies}, corps)
            )
        avant, avant_pg = _cpu_workers(maitre), _cpu_postgres()
        rep, duree = await _rafale(coros)
        cpu_depot.append((_cpu_workers(maitre) - avant) / len(rep) * 1000)
        cpu_pg.append((_cpu_postgres() - avant_pg) / len(rep) * 1000)
        for i, x in enumerate(rep):
            compter([x], depose(tour[i]))
        ms_depot += [x.ms for x in rep]
        debits_depot.append(len(rep) / duree)

    # Double submit: each user posts its deposit twice at the same moment (a double click, two tabs).
    tour = prep["tours"][rounds]
    rep_pages, _duree = await pages(tour)
    compter(rep_pages, lambda x: x.statut == 200)
    coros = []
    for i, pk in enumerate(tour):
        cookies, corps = formulaire(rep_pages[i])
        for _ in range(2):
            coros.append(
                _requete(port, "POST", f"/demandes/{pk}/etapes/depot/", {"sessionid": sessions[i], **cookies}, corps)
            )
    rep, _duree = await _rafale(coros)
    statuts: dict[str, int] = {}
    for j, x in enumerate(rep):
        compter([x], depose(tour[j // 2]))
        cle = x.erreur or str(x.statut)
        statuts[cle] = statuts.get(cle, 0) + 1
    ms_double = [x.ms for x in rep]

    return {
        "floor": _resume(ms_plancher, debits_plancher),
        "deposit": _resume(ms_depot, debits_depot),
        "page": _resume(ms_page, []),
        "double": {
            "n": len(rep),
            "users": len(tour),
            "p50": statistics.median(ms_double),
            "p99": _centile(ms_double, 99),
            "statuts": statuts,
        },
        "errors": sum(erreurs.values()),
        "error_kinds": erreurs,
        "requests": requetes,
        "cpu": {
            "deposit": statistics.median(cpu_depot),
            "floor": statistics.median(cpu_plancher),
            "postgres": statistics.median(cpu_pg),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 users, one round (under half a minute)")
    parser.add_argument("--users", type=int, help="concurrent users (default 100, --quick 20)")
    parser.add_argument(
        "--rounds", type=int, help="deposit rounds before the double-submit one (default 2, --quick 1)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    parser.add_argument(
        "--migrate", action="store_true", help="run the migrations (default: tables created from the models, faster)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _enfant(args.users, args.rounds, args.keep, args.migrate)

    sys.path.insert(0, str(ROOT))
    from datetime import datetime

    from bench.harness import Report, machine

    report = Report()
    print(f"# Subventions deadline rush — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {machine()}")
    debut = time.perf_counter()
    run(report, users=args.users, rounds=args.rounds, quick=args.quick, keep=args.keep)
    report.note(f"rush: {time.perf_counter() - debut:.0f} s")
    report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
