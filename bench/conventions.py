"""Conventions at Marseille scale: rendering every État convention PDF (`acte_pdf`) against bare reportlab rendering
the same content from plain tuples, and `conventions_batir` grouping alone against the bare SELECT of the granted
lines it reads (and against the same rows written with bulk inserts)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from django.db import connection, transaction
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

import subventions
from bench.harness import Figure, QueryCount, Report, interleave, median

FONTS = Path(subventions.__file__).resolve().parent / "fonts"
FLOOR_FONT, FLOOR_BOLD = "BenchSans", "BenchSans-Bold"
MARGIN = 18 * mm
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#BBBBBB")
# SimpleDocTemplate's frame pads by 6 pt on each side: margins 6 pt smaller give the product's text width.
PAD = 6


# --- Capturing what the product prints, as plain tuples ----------------------------------------------------------


class _Capture:
    """While active, every document `acte_pdf` builds is also recorded as tuples: ("p", style, markup, bullet),
    ("s", height), ("pb",), ("k", [...]), ("t", rows, widths, commands, repeat_rows). Library objects are
    patched only for this preparation pass, never while timing."""

    def __init__(self) -> None:
        self.documents: list[tuple] = []
        self.styles: dict[tuple, str] = {}

    def __enter__(self):
        from subventions.conventions import pdf as pdf_acte

        self._pdf = pdf_acte
        self._construire = pdf_acte._construire
        self._set_style = Table.setStyle
        capture = self

        def set_style(table, tblstyle):
            commandes = tblstyle.getCommands() if isinstance(tblstyle, TableStyle) else list(tblstyle)
            table.__dict__.setdefault("_bench_cmds", []).extend(commandes)
            return capture._set_style(table, tblstyle)

        def construire(histoire, *, titre, auteur, sujet, pied):
            flux = [capture.flowable(f) for f in histoire]
            contenu = capture._construire(histoire, titre=titre, auteur=auteur, sujet=sujet, pied=pied)
            capture.documents.append(((titre, auteur, sujet, pied), flux, contenu))
            return contenu

        Table.setStyle = set_style
        pdf_acte._construire = construire
        return self

    def __exit__(self, *exc) -> None:
        Table.setStyle = self._set_style
        self._pdf._construire = self._construire

    def style(self, style: ParagraphStyle) -> str:
        attrs = tuple((k, _font(getattr(style, k))) for k in sorted(ParagraphStyle.defaults))
        return self.styles.setdefault(attrs, f"s{len(self.styles)}")

    def flowable(self, f) -> tuple:
        if isinstance(f, Paragraph):
            return ("p", self.style(f.style), f.text, getattr(f, "bulletText", None))
        if isinstance(f, Spacer):
            return ("s", f.height)
        if isinstance(f, PageBreak):
            return ("pb",)
        if isinstance(f, KeepTogether):
            return ("k", [self.flowable(x) for x in f._content])
        if isinstance(f, Table):
            rows = [[self.cell(c) for c in row] for row in f._cellvalues]
            commandes = [tuple(_font(x) for x in cmd) for cmd in f.__dict__.get("_bench_cmds", [])]
            return ("t", rows, list(f._argW), commandes, f.repeatRows)
        raise TypeError(f"flowable not captured: {type(f).__name__}")

    def cell(self, c):
        if isinstance(c, str):
            return c
        if isinstance(c, list | tuple):
            return [self.flowable(x) for x in c]
        return self.flowable(c)


def _font(valeur):
    """The product's font names mapped to the floor's own registration of the same TTF files."""
    if valeur == "SubventionsSans":
        return FLOOR_FONT
    if valeur == "SubventionsSans-Bold":
        return FLOOR_BOLD
    return valeur


# --- The floor: bare reportlab from the tuples -------------------------------------------------------------------


def register_floor_fonts() -> None:
    pdfmetrics.registerFont(TTFont(FLOOR_FONT, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FLOOR_BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(
        FLOOR_FONT, normal=FLOOR_FONT, bold=FLOOR_BOLD, italic=FLOOR_FONT, boldItalic=FLOOR_BOLD
    )


class _NumberedCanvas(canvas.Canvas):
    """reportlab's usual "page X of Y" recipe: pages are kept until save()."""

    footer = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved = []

    def showPage(self):  # noqa: N802 - reportlab's API
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved)
        for n, state in enumerate(self._saved, start=1):
            self.__dict__.update(state)
            self.setFont(FLOOR_FONT, 8)
            self.setFillColor(GREY)
            self.setStrokeColor(RULE)
            self.line(MARGIN, 13 * mm, A4[0] - MARGIN, 13 * mm)
            self.drawString(MARGIN, 9 * mm, self.footer)
            self.drawRightString(A4[0] - MARGIN, 9 * mm, f"Page {n} / {total}")
            super().showPage()
        super().save()


def render_floor(document: tuple, style_attrs: dict[str, tuple]) -> bytes:
    (titre, auteur, sujet, pied), flux = document
    styles = {nom: ParagraphStyle(nom, **dict(attrs)) for nom, attrs in style_attrs.items()}

    def build(t):
        kind = t[0]
        if kind == "p":
            return Paragraph(t[2], styles[t[1]], bulletText=t[3])
        if kind == "s":
            return Spacer(1, t[1])
        if kind == "pb":
            return PageBreak()
        if kind == "k":
            return KeepTogether([build(x) for x in t[1]])
        _, rows, widths, commandes, repeat = t
        cells = [[c if isinstance(c, str) else _cell(c) for c in row] for row in rows]
        return Table(cells, colWidths=widths, repeatRows=repeat, style=commandes)

    def _cell(c):
        return [build(x) for x in c] if isinstance(c, list) else build(c)

    tampon = io.BytesIO()
    doc = SimpleDocTemplate(
        tampon,
        pagesize=A4,
        leftMargin=MARGIN - PAD,
        rightMargin=MARGIN - PAD,
        topMargin=MARGIN - PAD,
        bottomMargin=20 * mm - PAD,
        title=titre,
        author=auteur,
        subject=sujet,
        creator="bench",
        invariant=1,
        initialFontName=FLOOR_FONT,
        initialFontSize=9.5,
    )
    canvasmaker = type("_Canvas", (_NumberedCanvas,), {"footer": pied[:110]})
    doc.build([build(t) for t in flux], canvasmaker=canvasmaker)
    return tampon.getvalue()


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>")


# --- The benchmarks ------------------------------------------------------------------------------------------------


def run_pdf(report: Report, *, limit: int | None, repeat: int, budget: float) -> None:
    from subventions.conventions.models import ActeAttribution
    from subventions.conventions.pdf import acte_pdf

    actes = list(ActeAttribution.objects.filter(financeur__code="etat").select_related("financeur").order_by("numero"))
    if limit:
        actes = actes[:limit]
    register_floor_fonts()
    # Preparation (not timed): one product pass records every document as tuples, and warms both paths up.
    with _Capture() as capture:
        for acte in actes:
            acte_pdf(acte)
    styles = {nom: attrs for attrs, nom in capture.styles.items()}
    documents = [(meta, flux) for meta, flux, _ in capture.documents]
    produits = [contenu for _, _, contenu in capture.documents]
    planchers = [render_floor(d, styles) for d in documents]
    pages_p, pages_f = sum(map(_pages, produits)), sum(map(_pages, planchers))
    report.note(
        f"conventions.pdf: {len(actes)} État documents; product {pages_p} pages / "
        f"{sum(map(len, produits)) / 1e6:.1f} MB, floor {pages_f} pages / {sum(map(len, planchers)) / 1e6:.1f} MB"
    )

    def produit():
        for acte in actes:
            acte_pdf(acte)

    def plancher():
        for d in documents:
            render_floor(d, styles)

    t_p, t_f = interleave(produit, plancher, repeat=repeat, budget=budget)
    fig = report.figure(Figure(f"conventions.pdf_{len(actes)}", median(t_p), median(t_f), "s"))
    report.note(
        f"conventions.pdf: {median(t_p) / len(actes) * 1000:.1f} ms per document, "
        f"floor {median(t_f) / len(actes) * 1000:.1f} ms ({len(t_p)} runs)"
    )
    if fig.ratio > 2:
        report.miss(f"{fig.name} ratio {fig.ratio:.2f} > 2.0")


def _lignes_accordees_floor(campagne_id: int) -> list[tuple]:
    """The bare SELECT of what conventions_batir reads: granted lines (amount > 0) of decided demandes."""
    from subventions.demandes.models import LigneFinancement

    return list(
        LigneFinancement.objects.filter(
            demande__campagne_id=campagne_id, statut="accordee", montant_accorde__gt=0, acte_ligne__isnull=True
        )
        .exclude(demande__statut="inscrite")
        .values_list("pk", "financeur_id", "demande__porteur_id", "demande__numero", "montant_accorde")
        .order_by("financeur_id", "demande__porteur_id", "demande__numero", "pk")
    )


def _vider(campagne) -> None:
    """Inside the caller's transaction (always rolled back): the campagne's documents and their lines are gone, the
    counters start again. Raw deletes: the foreign keys pointing at them (signatures, échéanciers) are deferred
    constraints, checked only at a commit that never comes."""
    from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes

    ActeLigne.objects.filter(acte__campagne=campagne)._raw_delete(connection.alias)
    ActeAttribution.objects.filter(campagne=campagne)._raw_delete(connection.alias)
    CompteurActes.objects.filter(exercice=campagne.exercice).update(dernier=0)


def _build_bulk_floor(campagne) -> int:
    """The same documents and lines written with bulk inserts: one SELECT of the lines, one of the financeurs, one
    INSERT of the documents, one of their lines, one UPDATE per numbering counter. Returns the documents written."""
    from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes
    from subventions.referentiel.models import Financeur

    lignes = _lignes_accordees_floor(campagne.pk)
    financeurs = {
        f[0]: f[1:]
        for f in Financeur.objects.values_list(
            "pk", "code", "mode_cpo", "duree_cpo", "toujours_convention", "seuil_convention"
        )
    }
    groupes: dict[tuple[int, int], list[tuple]] = {}
    for ligne in lignes:
        groupes.setdefault((ligne[1], ligne[2]), []).append(ligne)
    numeros: dict[int, int] = {}
    actes = []
    for (financeur_id, porteur_id), rangs in groupes.items():
        code, cpo, duree, toujours, seuil = financeurs[financeur_id]
        total = sum(r[4] for r in rangs)
        numeros[financeur_id] = numeros.get(financeur_id, 0) + 1
        actes.append(
            ActeAttribution(
                financeur_id=financeur_id,
                porteur_id=porteur_id,
                campagne_id=campagne.pk,
                exercice=campagne.exercice,
                annee_fin=campagne.exercice + duree - 1 if cpo else None,
                nature="convention" if toujours or cpo or total > seuil else "arrete",
                numero=f"{code.upper()}-{campagne.exercice}-{numeros[financeur_id]:04d}",
                montant_total=total,
                a_generer=True,
            )
        )
    ActeAttribution.objects.bulk_create(actes)
    ActeLigne.objects.bulk_create(
        [
            ActeLigne(acte=a, ligne_id=r[0], montant=r[4])
            for a, rangs in zip(actes, groupes.values(), strict=True)
            for r in rangs
        ]
    )
    for financeur_id, dernier in numeros.items():
        CompteurActes.objects.update_or_create(
            financeur_id=financeur_id, exercice=campagne.exercice, defaults={"dernier": dernier}
        )
    return len(actes)


def run_build(report: Report, *, repeat: int, budget: float) -> None:
    from subventions.campagnes.models import Campagne
    from subventions.conventions.models import ActeAttribution
    from subventions.conventions.services import conventions_batir

    campagne = Campagne.objects.get(exercice=2015)
    avant = ActeAttribution.objects.count()
    t_p, t_select, t_bulk = [], [], []
    debut = time.perf_counter()
    compte, requetes, lignes, ecrits = None, None, None, None
    for i in range(repeat + 1):  # the first round is a warm-up that also counts the queries
        with transaction.atomic():
            _vider(campagne)
            t0 = time.perf_counter()
            lignes = _lignes_accordees_floor(campagne.pk)
            t1 = time.perf_counter()
            with QueryCount(connection) as n:
                compte = conventions_batir(campagne=campagne, generer=False)
            t2 = time.perf_counter()
            requetes = n.n
            transaction.set_rollback(True)
        with transaction.atomic():
            _vider(campagne)
            t3 = time.perf_counter()
            with QueryCount(connection) as n:
                ecrits = _build_bulk_floor(campagne)
            t4 = time.perf_counter()
            requetes_bulk = n.n
            transaction.set_rollback(True)
        if i:
            t_select.append(t1 - t0)
            t_p.append(t2 - t1)
            t_bulk.append(t4 - t3)
            if time.perf_counter() - debut > budget:
                break
    if ActeAttribution.objects.count() != avant:
        raise RuntimeError("conventions_build benchmark changed the database")
    groupes = len({(f, p) for _, f, p, _, _ in lignes})
    report.note(
        f"conventions.build: campagne 2015, every financeur: {len(lignes)} granted lines in {groupes} "
        f"(financeur, porteur) groups → {compte['crees']} documents (bulk floor: {ecrits}); generer=False; "
        "each run in a transaction rolled back"
    )
    if compte["crees"] != ecrits:
        report.note("warning: the bulk floor does not write as many documents as conventions_batir")
    fig = report.figure(Figure("conventions.build", median(t_p) * 1000, median(t_select) * 1000, "ms"))
    report.fact(f"conventions.build.queries: {requetes} queries, floor 1 query")
    bulk = report.figure(Figure("conventions.build_vs_bulk", median(t_p) * 1000, median(t_bulk) * 1000, "ms"))
    report.fact(f"conventions.build_vs_bulk.queries: {requetes} queries, floor {requetes_bulk} queries")
    # Against the bare SELECT the product also writes what the SELECT only reads (documents, lines, counters): that
    # figure measures the cost of the writes; build_vs_bulk, whose floor writes the same rows, is like for like.
    report.note(
        f"conventions.build: the SELECT floor only reads {len(lignes)} rows; the product also inserts "
        f"{compte['crees']} documents and {len(lignes)} lines and moves the numbering counters, as the bulk floor does"
    )
    for f in (fig, bulk):
        if f.ratio > 2:
            quoi = " — the floor only reads" if f is fig else ""
            report.miss(f"{f.name} ratio {f.ratio:.2f} > 2.0 ({requetes} queries for {groupes} groups{quoi})")
