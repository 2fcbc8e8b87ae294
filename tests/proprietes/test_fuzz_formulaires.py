"""A fuzz pass over every form a user can POST: no answer is a 500, and a refused form writes nothing.

The routes come from the URL configuration through the access matrix (tests/securite/test_matrice.py), which says
for each route which role may POST it on porteur A's objects. For each route that takes a POST, the test signs in as
the first role allowed, reads the fields of the forms that target the route on the pages of its namespace (inputs,
selects, textareas, file inputs), and lets hypothesis post values for them: unicode, empty, negative, huge, NaN,
very long text, NUL bytes, several values for one field, files with hostile names. Each example runs in a savepoint
rolled back, so that the world stays the same for the next one.

    .venv/bin/pytest -q -n 0 tests/proprietes/test_fuzz_formulaires.py    # prints the number of examples tried
"""

from __future__ import annotations

import traceback

import lxml.html
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subventions.demandes.enums import COMPTES, Avis
from subventions.demandes.etapes import NOMS_ETAPES
from subventions.demandes.forms import nom_champ_compte, nom_champ_financeur
from tests.factories import DEFAULT_PASSWORD
from tests.proprietes.conftest import CHAMPS, compter
from tests.securite.conftest import ROLES
from tests.securite.test_matrice import OK, ROUTES, SANS_OBJET, attendu_get, attendu_post

pytestmark = pytest.mark.django_db

EXEMPLES_PAR_ROUTE = 8
FUZZ = settings(
    max_examples=EXEMPLES_PAR_ROUTE,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure is reproduced locally
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# 500s the fuzz found, fixed since (ids beyond 2**63 - 1 reached the query; a `retour` that is neither a path of the
# space nor a view name raised NoReverseMatch, and an off-site one redirected there): each stays a regression case.
ENORME = str(2**63)
PLANTAGES: dict[str, tuple[str, dict, str]] = {
    "envoyer_en_bloc-retour": (
        "conventions:envoyer_en_bloc", {"retour": "0"},
        "subventions/conventions/views.py envoyer_en_bloc line 111 `redirect(request.POST.get('retour') or "
        "'conventions:liste')` when no acte is checked: a retour that is neither a URL nor a view name raises "
        "NoReverseMatch → 500 (and retour='https://ailleurs.example' is an open redirect; line 121 checks the prefix "
        "/conventions/, line 111 does not).",
    ),
    "envoyer_en_bloc-retour-ailleurs": (
        "conventions:envoyer_en_bloc", {"retour": "https://ailleurs.example/"},
        "an off-site `retour` redirected there (open redirect) when no acte was checked.",
    ),
    "envoyer_en_bloc-id-enorme": (
        "conventions:envoyer_en_bloc", {"actes": ENORME},
        "subventions/conventions/views.py envoyer_en_bloc line 112 `list(actes)`: an id of 2**63 passes _entier() and "
        "reaches the query → OverflowError « Python int too large to convert to SQLite INTEGER » → 500.",
    ),
    "odj_ajouter-id-enorme": (
        "comites:odj_ajouter", {"demandes": ENORME},
        "subventions/comites/views.py odj_ajouter line 210 `list(selectors.candidats(seance).filter(pk__in=ids))`: "
        "an id of 2**63 passes _entier() → OverflowError (SQLite) → 500. Fix: _entier() drops ids beyond 2**63 - 1.",
    ),
}  # fmt: skip
HORS_FUZZ: dict[str, set[str]] = {}

# Forms that the world's pages do not show (the object is not at the state that displays them, or the form is on a
# step other than the one the matrix opens): their fields, with values the page would offer. (monde) → {name: values}
SUPPLEMENTS = {
    "instruction:avis": lambda m: {
        "avis": list(Avis.values),
        "montant_propose": ["100,00"],
        "motivation": [],
        "version": [str(m.A.ligne_deposee.version)],
    },
    "associations:adhesion_demander": lambda m: {"siret": [m.B.porteur.siret, m.A.porteur.siret], "message": []},
    "demandes:etape[depot]": lambda m: {
        "nom": ["Mme Martin"],
        "qualite": ["Présidente"],
        "engagement_republicain": ["on"],
        "exactitude": ["on"],
    },
    "demandes:budget_totaux": lambda m: {
        **{nom_champ_compte(code): ["1 000,00"] for code, _l in COMPTES},
        **{nom_champ_financeur(f.pk): ["500"] for f in (m.x, m.y)},
    },
}
# Routes whose POST carries no field at all (a button): the fuzz posts stray fields to them.
SANS_CHAMP = {
    "associations:invitation_annuler", "associations:membre_retirer", "associations:piece_archiver",
    "bilans:porteur_piece_retirer", "comites:cloturer", "comites:decider_en_bloc", "conventions:acte_action",
    "instruction:recevable", "paiements:paiement_rendre_exigible", "paiements:paiement_reprendre",
}  # fmt: skip
# Each step of the online request is its own form: the matrix opens one (« action »), the fuzz posts to all of them.
ETAPES = {f"demandes:etape[{etape}]": etape for etape in NOMS_ETAPES}


@pytest.fixture(autouse=True)
def _media_root(_media_du_module):
    """The world's files live for the whole module (overrides the per-test MEDIA_ROOT of tests/conftest.py)."""


def routes_post() -> list[str]:
    noms = sorted(nom for nom, route in ROUTES.items() if route.post or route.post_seul)
    return [cas for nom in noms for cas in (sorted(ETAPES) if nom == "demandes:etape" else [nom])]


def route_de(cas: str) -> str:
    return cas.split("[")[0]


def objet_de(nom: str) -> str:
    return "A" if "A" in ROUTES[route_de(nom)].objets else SANS_OBJET


def url_de(monde, cas: str) -> str:
    nom = route_de(cas)
    kwargs = ROUTES[nom].kwargs(monde, objet_de(nom))
    if cas in ETAPES:
        kwargs["etape"] = ETAPES[cas]
    return reverse(nom, kwargs=kwargs)


def role_autorise(nom: str) -> str | None:
    """The first role of the matrix whose POST on this route is let through (its form is then really processed)."""
    route, objet = ROUTES[route_de(nom)], objet_de(nom)
    return next((role for role in ROLES if role != "anonyme" and attendu_post(route, role, objet) == OK), None)


# --- What the forms ask -------------------------------------------------------------------------------------------

_CLIENTS: dict[str, Client] = {}
_PAGES: dict[tuple[str, str], str] = {}


def client_de(monde, role: str) -> Client:
    if role not in _CLIENTS:
        client = Client(raise_request_exception=True)
        client.force_login(monde.users[role])
        # Signing asks for the password again (allauth's reauthentication): give it once.
        client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
        _CLIENTS[role] = client
    return _CLIENTS[role]


def pages_du_role(monde, role: str, espace: str) -> list[tuple[str, str]]:
    """(url, html) of every page of the namespace that the role may open on A's objects."""
    pages = []
    for nom, route in ROUTES.items():
        if nom.split(":")[0] != espace or route.query:
            continue
        objet = "A" if "A" in route.objets else SANS_OBJET
        if attendu_get(route, role, objet) != OK:
            continue
        urls = (
            [url_de(monde, cas) for cas in ETAPES]
            if nom == "demandes:etape"
            else [reverse(nom, kwargs=route.kwargs(monde, objet))]
        )
        for url in urls:
            pages.append((url, _page(monde, role, url)))
    return pages


def _page(monde, role: str, url: str) -> str:
    if (role, url) not in _PAGES:
        reponse = client_de(monde, role).get(url)
        texte = reponse.get("Content-Type", "").startswith("text/html") and not reponse.streaming
        _PAGES[(role, url)] = reponse.content.decode() if reponse.status_code == 200 and texte else ""
    return _PAGES[(role, url)]


def champs_du_formulaire(monde, nom: str, role: str, url: str) -> tuple[dict[str, list[str]], dict[str, str], set]:
    """Fields of the forms posting to `url`: name → the values offered (options, checkbox values), the hidden fields'
    values, and the file fields."""
    offerts: dict[str, list[str]] = {}
    caches: dict[str, str] = {}
    fichiers: set[str] = set()
    for page_url, page in pages_du_role(monde, role, route_de(nom).split(":")[0]):
        if not page:
            continue
        for formulaire in lxml.html.fromstring(page).forms:
            cibles = {formulaire.get("action") or page_url, *formulaire.xpath(".//@hx-post")}
            if url not in {c.split("?")[0] for c in cibles}:
                continue
            for element in formulaire.inputs:
                nom_champ = element.get("name")
                if not nom_champ or nom_champ == "csrfmiddlewaretoken":
                    continue
                valeurs = offerts.setdefault(nom_champ, [])
                if element.tag == "select":
                    valeurs.extend(o.get("value", o.text or "") for o in element.findall(".//option"))
                elif element.get("type") == "file":
                    fichiers.add(nom_champ)
                elif element.get("type") == "hidden":
                    caches[nom_champ] = element.get("value", "")
                elif element.get("value") is not None:
                    valeurs.append(element.get("value"))
    for cle, valeurs in SUPPLEMENTS.get(nom, lambda m: {})(monde).items():
        offerts.setdefault(cle, []).extend(valeurs)
    donnees = ROUTES[route_de(nom)].donnees if nom not in ETAPES else None
    for cle, valeur in (donnees(monde, objet_de(nom)) if donnees else {}).items():
        if isinstance(valeur, SimpleUploadedFile):
            fichiers.add(cle)
        else:
            offerts.setdefault(cle, []).extend(valeur if isinstance(valeur, list) else [str(valeur)])
    return offerts, caches, fichiers


# --- Hostile values -----------------------------------------------------------------------------------------------

texte = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
hostile = st.one_of(
    texte,
    st.sampled_from(["", " ", "-1", "0", "-0,01", "1e309", "NaN", "Infinity", "9" * 18, "1 234,567", "12,5.3",
                     "\x00", "a\x00b", "2015-02-30", "99999-01-01", "0001-01-01", "' OR 1=1 --", "<script>x</script>",
                     "{{ 7*7 }}", "%s%n", "../../etc/passwd", "true", "on", "moi", "[]", "{}", "\u202e\u0000\ufeff"]),
    st.integers(-(2**63) + 1, 2**63 - 1).map(str),
    st.just("x" * 20_000),
)  # fmt: skip
nom_fichier = st.sampled_from(["piece.pdf", "../../etc/passwd", "..\\..\\boot.ini", "a" * 300 + ".pdf", ".pdf",
                               "ﬁchier é.pdf", "x.exe", "x.pdf.exe", "nul\u0000.pdf"])  # fmt: skip


def valeurs_pour(offerts: list[str]):
    if not offerts:
        return hostile
    une = st.one_of(hostile, st.sampled_from(offerts))
    return st.one_of(une, st.lists(une, min_size=2, max_size=3))


def _fichier(draw):
    return SimpleUploadedFile(draw(nom_fichier), draw(st.binary(max_size=300)), content_type="application/pdf")


# --- The pass -----------------------------------------------------------------------------------------------------


def _comptes() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if not m._meta.proxy and m._meta.managed and m._meta.db_table != "django_session"
    }


def _erreur_de_formulaire(reponse) -> bool:
    if reponse.status_code == 302 or getattr(reponse, "streaming", False):
        return False
    page = reponse.content.decode(errors="replace")
    return reponse.status_code >= 400 or any(m in page for m in ("is-invalid", "errorlist", "invalid-feedback"))


@pytest.mark.parametrize(
    "cas",
    list(PLANTAGES),
)
def test_inputs_that_once_crashed_answer_without_500(monde, cas):
    nom, donnees, _raison = PLANTAGES[cas]
    _CLIENTS.clear()
    client = client_de(monde, role_autorise(nom))
    client.raise_request_exception = False  # the crash is the answer checked: a 500
    with transaction.atomic():
        reponse = client.post(url_de(monde, nom), donnees)
        assert reponse.status_code != 500
        assert "ailleurs.example" not in reponse.get("Location", "")
        transaction.set_rollback(True)


@pytest.mark.parametrize("nom", routes_post())
def test_no_form_answers_500_and_a_refused_form_writes_nothing(monde, nom):
    role = role_autorise(nom)
    if role is None:
        pytest.skip("aucun rôle de la matrice ne peut poster sur cette route")
    # A fresh session and fresh pages for each route: a session changed by another route's examples (rolled back with
    # them) must not sign the role out here.
    _CLIENTS.clear()
    _PAGES.clear()
    url = url_de(monde, nom)
    offerts, caches, fichiers = champs_du_formulaire(monde, nom, role, url)
    client = client_de(monde, role)
    tous = sorted((set(offerts) | set(caches)) - HORS_FUZZ.get(nom, set()))
    CHAMPS[nom] = len(tous) + len(fichiers)
    assert tous or fichiers or nom in SANS_CHAMP, f"aucun champ trouvé pour {nom} : le fuzz ne poste rien"

    @FUZZ
    @given(data=st.data())
    def essayer(data):
        compter("formulaires")
        donnees = dict(caches)
        # Stray fields too: a view must ignore what its form does not declare.
        for champ in data.draw(st.lists(st.sampled_from([*tous, "champ_inconnu", "pk"]), unique=True), label="champs"):
            donnees[champ] = data.draw(valeurs_pour(offerts.get(champ, [])), label=champ)
        for champ in fichiers:
            if data.draw(st.booleans(), label=f"{champ} ?"):
                donnees[champ] = _fichier(data.draw)
        entetes = {"HTTP_HX_REQUEST": "true"} if data.draw(st.booleans(), label="htmx") else {}
        with transaction.atomic():
            avant = _comptes()
            try:
                reponse = client.post(url, donnees, **entetes)
            except Exception as exc:
                pile = "".join(traceback.format_exception(exc)[-6:])
                pytest.fail(f"POST {nom} en {role} avec {donnees!r} : exception\n{pile}")
            assert reponse.status_code != 500, (nom, role, donnees)
            if _erreur_de_formulaire(reponse):
                apres = _comptes()
                changes = {k: (avant[k], apres[k]) for k in avant if avant[k] != apres[k]}
                assert not changes, f"POST {nom} refusé ({reponse.status_code}) mais des lignes ont changé : {changes}"
            transaction.set_rollback(True)

    essayer()
