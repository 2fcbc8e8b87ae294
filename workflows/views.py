"""The state-chart page: every django-fsm machine of the installed apps, drawn from the code itself."""

from __future__ import annotations

import inspect
import math
import re
from collections import deque
from dataclasses import dataclass, field

from django.apps import apps
from django.shortcuts import render
from django_fsm import FSMField

from subventions.comptes.access import agent_requis
from subventions.comptes.enums import Role

# Drawing sizes (SVG user units).
LARGEUR_ETAT, HAUTEUR_ETAT = 150, 40
ECART_COLONNES, ECART_LIGNES = 90, 34
MARGE = 30


@dataclass
class Regle:
    """A permission or a condition in plain words: the function's name and the first line of its docstring."""

    nom: str
    description: str = ""


@dataclass
class TransitionDecrite:
    nom: str
    sources: list[str]
    cible: str
    permission: Regle | None
    conditions: list[Regle]
    description: str


@dataclass
class Machine:
    modele: str
    libelle: str
    champ: str
    etats: list[tuple[str, str]]
    transitions: list[TransitionDecrite]
    svg: dict = field(default_factory=dict)

    @property
    def ancre(self) -> str:
        return f"{self.modele}-{self.champ}".replace(".", "-").lower()


def _premiere_ligne(doc: str | None) -> str:
    return (inspect.cleandoc(doc).splitlines() or [""])[0] if doc else ""


def _source_lambda(fonction) -> str:
    """`lambda x: <expression>` as written in the code, or '' when the source is not available."""
    try:
        source = inspect.getsource(fonction)
    except (OSError, TypeError):
        return ""
    trouve = re.search(r"lambda\b[^:]*:\s*(.+)", source)
    if not trouve:
        return ""
    expression = trouve.group(1).strip()
    # The decorator line goes on after the lambda: cut at the bracket or comma that closes it.
    profondeur = 0
    for i, caractere in enumerate(expression):
        if caractere in "([{":
            profondeur += 1
        elif caractere in ")]}":
            if profondeur == 0:
                return expression[:i].strip()
            profondeur -= 1
        elif caractere == "," and profondeur == 0:
            return expression[:i].strip()
    return expression.rstrip(",").strip()


def _regle(fonction) -> Regle | None:
    if fonction is None:
        return None
    if isinstance(fonction, str):  # a Django permission codename
        return Regle(nom=fonction, description="permission Django")
    nom = getattr(fonction, "__name__", repr(fonction))
    if nom != "<lambda>":
        return Regle(nom=nom, description=_premiere_ligne(getattr(fonction, "__doc__", None)))
    # A lambda: name it by what it says, and borrow the docstring of the functions it calls.
    expression = _source_lambda(fonction) or "lambda"
    appelees = [getattr(fonction, "__globals__", {}).get(n) for n in getattr(fonction, "__code__", None).co_names]
    docs = [_premiere_ligne(f.__doc__) for f in appelees if inspect.isfunction(f) and f.__doc__]
    return Regle(nom=expression, description=" ".join(docs))


def machines_fsm() -> list[Machine]:
    """Every FSMField of every installed model, with its states and transitions as the code declares them."""
    machines = []
    for modele in apps.get_models():
        for champ in modele._meta.get_fields():
            if not isinstance(champ, FSMField):
                continue
            etats = [(str(valeur), str(libelle)) for valeur, libelle in champ.flatchoices]
            connus = {valeur for valeur, _libelle in etats}
            par_nom: dict[str, TransitionDecrite] = {}
            for t in champ.get_all_transitions(modele):
                source, cible = str(t.source), str(t.target) if t.target is not None else str(t.source)
                for etat in (source, cible):
                    if etat not in connus and etat not in ("*", "+"):
                        etats.append((etat, etat))
                        connus.add(etat)
                decrite = par_nom.get(t.name)
                if decrite is None:
                    par_nom[t.name] = TransitionDecrite(
                        nom=t.name,
                        sources=[source],
                        cible=cible,
                        permission=_regle(t.permission),
                        conditions=[r for r in map(_regle, t.conditions) if r is not None],
                        description=_premiere_ligne(t.method.__doc__),
                    )
                else:
                    decrite.sources.append(source)
            ordre = [valeur for valeur, _libelle in etats]
            for decrite in par_nom.values():
                decrite.sources.sort(key=lambda s: _indice(ordre, s))
            machine = Machine(
                modele=modele._meta.label,
                libelle=str(modele._meta.verbose_name).capitalize(),
                champ=champ.name,
                etats=etats,
                transitions=sorted(
                    par_nom.values(), key=lambda d: (_indice(ordre, d.sources[0]), _indice(ordre, d.cible))
                ),
            )
            machine.svg = disposer(machine, initial=str(champ.get_default()))
            machines.append(machine)
    return sorted(machines, key=lambda m: m.modele)


def _indice(ordre: list[str], etat: str) -> int:
    return ordre.index(etat) if etat in ordre else len(ordre)


def _aretes(machine: Machine) -> list[tuple[str, str, str]]:
    tous = [valeur for valeur, _libelle in machine.etats]
    aretes = []
    for t in machine.transitions:
        for source in t.sources:
            if source == "*":
                aretes += [(s, t.cible, t.nom) for s in tous]
            elif source == "+":
                aretes += [(s, t.cible, t.nom) for s in tous if s != t.cible]
            else:
                aretes.append((source, t.cible, t.nom))
    return aretes


def disposer(machine: Machine, *, initial: str) -> dict:
    """A layered layout: columns by distance from the initial state (breadth first), unreachable states last."""
    libelles = dict(machine.etats)
    aretes = _aretes(machine)
    suivants: dict[str, list[str]] = {valeur: [] for valeur in libelles}
    for source, cible, _nom in aretes:
        suivants.setdefault(source, []).append(cible)
    rang = {initial: 0} if initial in libelles else {}
    file = deque(rang)
    while file:
        etat = file.popleft()
        for cible in suivants.get(etat, []):
            if cible not in rang:
                rang[cible] = rang[etat] + 1
                file.append(cible)
    dernier = max(rang.values(), default=-1) + 1
    colonnes: dict[int, list[str]] = {}
    for valeur in libelles:  # declaration order inside a column
        colonnes.setdefault(rang.get(valeur, dernier), []).append(valeur)
    hauteur_max = max(len(c) for c in colonnes.values())
    hauteur = 2 * MARGE + hauteur_max * HAUTEUR_ETAT + (hauteur_max - 1) * ECART_LIGNES
    position = {}
    for n, (_rang, etats) in enumerate(sorted(colonnes.items())):
        x = MARGE + n * (LARGEUR_ETAT + ECART_COLONNES)
        bloc = len(etats) * HAUTEUR_ETAT + (len(etats) - 1) * ECART_LIGNES
        y0 = (hauteur - bloc) / 2
        for i, etat in enumerate(etats):
            position[etat] = (x, y0 + i * (HAUTEUR_ETAT + ECART_LIGNES))
    largeur = 2 * MARGE + len(colonnes) * LARGEUR_ETAT + (len(colonnes) - 1) * ECART_COLONNES

    noeuds = [
        {
            "valeur": valeur,
            "libelle": libelle,
            "x": round(position[valeur][0], 1),
            "y": round(position[valeur][1], 1),
            "tx": round(position[valeur][0] + LARGEUR_ETAT / 2, 1),
            "ty": round(position[valeur][1] + HAUTEUR_ETAT / 2 + 5, 1),
            "initial": valeur == initial,
        }
        for valeur, libelle in machine.etats
    ]
    traits = []
    for source, cible, nom in aretes:
        if source not in position or cible not in position:
            continue
        traits.append({"nom": nom, "source": source, "cible": cible, **_trait(position[source], position[cible])})
    return {"largeur": round(largeur), "hauteur": round(hauteur), "noeuds": noeuds, "traits": traits}


def _trait(depart: tuple[float, float], arrivee: tuple[float, float]) -> dict:
    """An SVG path from box to box: a loop above the box for a self-transition, else a slight curve so that the two
    directions between the same states never overlap; and where its label goes."""
    (x1, y1), (x2, y2) = depart, arrivee
    if (x1, y1) == (x2, y2):
        cx, haut = x1 + LARGEUR_ETAT / 2, y1
        d = (
            f"M {cx - 20:.1f} {haut:.1f} "
            f"C {cx - 30:.1f} {haut - 32:.1f} {cx + 30:.1f} {haut - 32:.1f} {cx + 20:.1f} {haut:.1f}"
        )
        return {"d": d, "lx": round(cx, 1), "ly": round(haut - 28, 1)}
    a = (x1 + LARGEUR_ETAT / 2, y1 + HAUTEUR_ETAT / 2)
    b = (x2 + LARGEUR_ETAT / 2, y2 + HAUTEUR_ETAT / 2)
    dx, dy = b[0] - a[0], b[1] - a[1]
    longueur = math.hypot(dx, dy)

    def bord(centre, vers_x, vers_y):
        # Where the straight line from the box centre leaves the box.
        echelle = min(
            (LARGEUR_ETAT / 2) / abs(vers_x) if vers_x else math.inf,
            (HAUTEUR_ETAT / 2) / abs(vers_y) if vers_y else math.inf,
        )
        return centre[0] + vers_x * echelle, centre[1] + vers_y * echelle

    p1 = bord(a, dx / longueur, dy / longueur)
    p2 = bord(b, -dx / longueur, -dy / longueur)
    # Control point offset to the left of the direction of travel.
    courbure = 18 + 0.08 * longueur
    mx, my = (p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2
    nx, ny = dy / longueur, -dx / longueur
    qx, qy = mx + nx * courbure, my + ny * courbure
    d = f"M {p1[0]:.1f} {p1[1]:.1f} Q {qx:.1f} {qy:.1f} {p2[0]:.1f} {p2[1]:.1f}"
    # The label sits on the curve's middle point (half-way to the control point).
    return {"d": d, "lx": round((mx + qx) / 2, 1), "ly": round((my + qy) / 2 - 3, 1)}


@agent_requis(Role.ADMINISTRATEUR)
def graphes(request):
    """Every state machine of the product, for administrateurs: a drawing and a table, both read from the code."""
    return render(request, "workflows/graphe.html", {"machines": machines_fsm()})
