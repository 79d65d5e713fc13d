"""EM for Gaussian mixtures: step through every E-step and M-step on real data."""

import streamlit as st

from tracelab.labs.em import engine as gmm
from tracelab.labs.em import lessons
from tracelab.ui import data_picker, entry, lab, player, runners, share, url
from tracelab.labs.em import views
from tracelab.plot import stepping

entry.through_app()

P = "em"


def K(name: str) -> str:
    return f"{P}.{name}"


COVARIANCE_LABELS = {
    "full": "full",
    "tied": "tied (one shared)",
    "diag": "diagonal",
    "spherical": "spherical (σ²_k·I)",
    "fixed": "fixed (σ²·I, not learned)",
}
INIT_LABELS = {
    "kmeans": "k-means",
    "k-means++": "k-means++ seeding",
    "random_from_data": "random data points",
    "random": "random responsibilities",
}
NO_PRESET = "none"
# Up to this many Gaussians the parameters table fits in the side column.
SIDE_TABLE_UP_TO = 3
# Pixels of a responsibility column: room for its longest form, "0.000009669".
RESP_COLUMN_PX = 100
CHART_CONFIG = lab.CHART_CONFIG

EM_PARAMS = [
    url.Param("preset", K("preset"), NO_PRESET, url.choice([NO_PRESET, *lessons.PRESETS]), "preset"),
    url.Param("k", K("k"), 2, url.integer(1, 10), "number of components"),
    url.Param("cov", K("cov"), "full", url.choice(gmm.COVARIANCE_TYPES), "covariance type"),
    url.Param("var", K("var"), 1.0, url.number(0.001, 10.0), "σ²"),
    # The default run is one a student can watch: from two random data points with this
    # seed, EM on standardised Old Faithful takes 14 iterations, the log-likelihood climbs
    # over ten of them and one mean travels about 2 units (the k-means start converges in
    # 3 iterations with everything happening at once). Chosen among seeds 0-24, see
    # tests/test_pages.py::test_the_default_em_run_is_one_a_student_can_watch.
    url.Param("init", K("init"), "random_from_data", url.choice(gmm.INITS), "init"),
    url.Param("seed", K("seed"), 15, url.integer(0, 2**31 - 1), "seed"),
    url.Param("reg", K("reg"), 1e-6, url.number(0.0, 1.0), "reg_covar"),
    url.Param("tol", K("tol"), 1e-3, url.number(0.0, 10.0), "tol"),
    url.Param("iter", K("iter"), 100, url.integer(1, 1000), "max_iter"),
    # The view: what a student chose to see travels with the numbers.
    *lab.view_params(P),
    url.Param("hard", K("hard"), False, url.flag, "hard labels"),
    url.Param("uncertain", K("uncertain"), False, url.flag, "highlight uncertain"),
    url.Param("point", K("point"), 0, url.integer(0, 10**7), "point of the formula"),
    player.step_param(P),
]


def apply_preset() -> None:
    preset = lessons.PRESETS.get(st.session_state[K("preset")])
    if preset is None:
        return
    data_picker.choose_builtin(P, preset.dataset, preset.standardize)
    st.session_state[K("k")] = preset.params["n_components"]
    st.session_state[K("cov")] = preset.params["covariance_type"]
    st.session_state[player.step_key(P)] = 1


lab.open_lab(P, "EM for Gaussian mixtures", EM_PARAMS)

# -- Sidebar: data and parameters -------------------------------------------------------
PERSIST = data_picker.PERSIST
with st.sidebar:
    st.selectbox(
        "Lesson preset",
        [NO_PRESET, *lessons.PRESETS],
        key=K("preset"),
        format_func=lambda key: "— none —" if key == NO_PRESET else lessons.PRESETS[key].title,
        on_change=apply_preset,
        help="Worked examples with the start used in the lesson or textbook.",
        persist_state=PERSIST,
    )
choice = lab.pick_data(P, "old_faithful")
dataset = choice.dataset

max_k = lab.clamp_k(K("k"), dataset.n_samples, what="Gaussians")

with st.sidebar:
    st.subheader("EM")
    k = st.number_input("Number of Gaussians k", 1, max_k, step=1, key=K("k"), persist_state=PERSIST)
    cov = st.selectbox(
        "Covariance type", gmm.COVARIANCE_TYPES, key=K("cov"), format_func=COVARIANCE_LABELS.get, persist_state=PERSIST
    )
    if cov == "fixed":
        st.slider(
            "σ² (every covariance is σ²·I)", 0.001, 10.0, key=K("var"), step=0.001, format="%.3f",
            help="As σ² shrinks, responsibilities harden into k-means' labels.", persist_state=PERSIST,
        )
    init = st.selectbox("Start", gmm.INITS, key=K("init"), format_func=INIT_LABELS.get, persist_state=PERSIST)
    st.number_input("Seed", 0, 2**31 - 1, step=1, key=K("seed"), persist_state=PERSIST)
    st.number_input(
        "reg_covar (added to the covariance diagonals)", 0.0, 1.0, step=1e-6, format="%.1e", key=K("reg"),
        persist_state=PERSIST,
    )
    st.number_input(
        "tol (stop when the mean log-likelihood gains less)", 0.0, 10.0, step=1e-4, format="%.1e", key=K("tol"),
        persist_state=PERSIST,
    )
    st.number_input("max_iter", 1, 1000, step=1, key=K("iter"), persist_state=PERSIST)

params = dict(
    n_components=int(k),
    covariance_type=cov,
    init=init,
    seed=int(st.session_state[K("seed")]),
    reg_covar=float(st.session_state[K("reg")]),
    tol=float(st.session_state[K("tol")]),
    max_iter=int(st.session_state[K("iter")]),
)
if cov == "fixed":
    params["fixed_variance"] = float(st.session_state[K("var")])

preset = lessons.PRESETS.get(st.session_state[K("preset")])
if preset is not None:
    fits = (
        choice.source == preset.dataset
        and st.session_state.get(f"{P}.data.standardize") == preset.standardize
        and params["n_components"] == preset.params["n_components"]
    )
    if fits:
        start = {key: value for key, value in preset.params.items() if key.endswith("_init")}
        if cov == "fixed":
            start.pop("covariances_init", None)
        params.update(start)
        st.sidebar.caption(f"Started as in “{preset.title}”.")
    else:
        st.sidebar.caption(
            f"The preset's start needs k = {preset.params['n_components']} on its own data; "
            f"using the start chosen above instead."
        )

# -- The trace: computed (cached), or replayed from a trace file -------------------------
trace, columns, about, replay = lab.shown_trace(P, lambda: runners.em_trace(dataset, params, stoppable=True), choice)
n_features = trace.X.shape[1]
lab.trace_notes(P, trace, about)

url_params = data_picker.url_params(P, data_picker.current_name(P)) + EM_PARAMS


def scatter_controls() -> tuple[tuple[int, int] | str, bool, bool]:
    """Projection, hard labels, highlight uncertain."""
    axes = lab.axes_picker(P, columns)
    t1, t2 = st.columns(2)
    hard = t1.toggle("Hard labels", key=K("hard"), help="Colour each point by its most likely Gaussian only.",
                     persist_state=PERSIST)
    uncertain = t2.toggle(
        "Highlight uncertain points", key=K("uncertain"), help="Points whose largest responsibility is below 0.8.",
        persist_state=PERSIST,
    )
    return axes, hard, uncertain


def parameters_table(step: int) -> None:
    """Each Gaussian's parameters at ``step``: rows are the parameters, columns the Gaussians.

    Up to :data:`SIDE_TABLE_UP_TO` Gaussians, a static table in the side column (it draws
    faster than an interactive grid on every step), its labels escaped: Streamlit's
    tables render Markdown, and the labels hold the data's column names. More Gaussians
    do not fit there: a full-width grid that scrolls sideways, where labels are plain text.
    """
    st.markdown(f"**Parameters at step {step + 1}**")
    table = views.parameters_table(trace, step, columns).set_index("component").T
    # Written here, not by a pandas Styler: a Styler costs tens of ms of Python on every step.
    text = table.map(lambda v: "—" if v != v else f"{v:.4g}")
    if trace[step].n_components <= SIDE_TABLE_UP_TO:
        text.index = [data_picker.plain(name) for name in text.index]
        st.table(text)
    else:
        st.dataframe(text, key=K("params"), height=35 * (len(table) + 1) + 3)


def responsibilities_grid(step: int) -> None:
    """Every point's responsibilities at ``step``, as numbers: sorting a column sorts by value.

    The grid writes each responsibility as the r_ik formula does
    (:func:`~tracelab.labs.em.views.format_responsibility` mirrors its ``"%.4g"``), and
    the browser formats the cells: sending numbers, not one string per cell, keeps
    each step's message small.
    """
    n = trace.X.shape[0]
    rows = views.responsibilities_rows(trace, views.RESPONSIBILITIES_GRID_MAX_VALUES)
    if len(rows) < n:
        st.caption(f"The grid shows a random sample of {len(rows):,} of the {n:,} points (seed 0), the same "
                   "at every step; the point box above reaches every point.")
    resp_table = views.responsibilities_table(trace, step, columns, rows=rows)
    resp_table["point"] = resp_table["point"].astype("int32")  # row indices: half the bytes of int64
    # Every number to 4 significant digits, the coordinates as the formula writes x_i. A
    # responsibility can take 11 characters ("0.000009669"): its columns are given room for
    # them, which the grid's own sizing (from the first rows) does not give on a phone.
    number = st.column_config.NumberColumn(format=views.RESPONSIBILITY_FORMAT)
    r_number = st.column_config.NumberColumn(format=views.RESPONSIBILITY_FORMAT, width=RESP_COLUMN_PX)
    n_r = trace[step].n_components
    config = {name: number for name in resp_table.columns[1:-n_r]}
    config.update({name: r_number for name in resp_table.columns[-n_r:]})
    st.dataframe(resp_table, hide_index=True, key=K("resp_table"), height=300, column_config=config)


def draw_step() -> None:
    n = trace.X.shape[0]
    st.session_state[K("point")] = min(int(st.session_state.get(K("point"), 0)), n - 1)

    axes: tuple[int, int] | str = (0, 1)  # ignored by the 1-D views
    hard = uncertain = False
    if n_features > 1:
        axes, hard, uncertain = scatter_controls()
    color_by = "labels" if hard else "responsibilities"
    stepped, spec = lab.step_player(
        P, trace, views.step_charts,
        dict(axes=axes, color_by=color_by, highlight_uncertain=uncertain, columns=columns),
        clickable=[0], widths=[3, 2], selected=st.session_state[K("point")],
    )
    click = stepped.click
    if click is not None and click.role == "points" and isinstance(click.customdata, int) and click.customdata < n:
        st.session_state[K("point")] = click.customdata
    point = st.session_state[K("point")]
    step = stepped.step
    snap = trace[step]

    with lab.at_step(P):
        parameters_table(step)
        sections = ["Responsibilities", "Equations", "Share and export"]
        if preset is not None and preset.small_multiples:
            sections.append("Textbook figure")
        section = lab.section_picker(P, sections)
        if section == "Responsibilities":
            st.number_input(
                "Point (click one on the chart, or pick its index)", 0, n - 1, step=1, key=K("point"),
                persist_state=PERSIST,
            )
            st.latex(views.responsibility_latex(trace, step, point, columns=columns))
            responsibilities_grid(step)
        elif section == "Equations":
            for title, latex, highlighted in views.equations_latex(snap.phase, trace.params["covariance_type"]):
                with st.container(border=highlighted):
                    st.markdown(f"**{title}**" + ("  ← this step" if highlighted else ""))
                    st.latex(latex)
        elif section == "Share and export":
            csv_rows = views.responsibilities_rows(trace, views.RESPONSIBILITIES_CSV_MAX_VALUES)
            lab.share_section(
                P, trace, url_params, choice=choice, replay=replay, check=gmm.check_trace,
                note=None if len(csv_rows) == n else (
                    f"The responsibilities file holds a random sample of {len(csv_rows):,} of the {n:,} points "
                    "(seed 0), each with its point number: a file of every point would take the server too "
                    "long to write."),
                files=[
                    ("Responsibilities at this step (CSV)",
                     lambda: views.responsibilities_table(trace, step, columns, rows=csv_rows).to_csv(index=False),
                     f"tracelab-em-step{step + 1}-responsibilities.csv", "text/csv"),
                    ("Player (HTML, works offline)",
                     lambda: stepping.standalone_html(spec, title="TraceLab · EM for Gaussian mixtures",
                                                      about=f"{about}. {trace.message}", start=step + 1),
                     "tracelab-em-player.html", "text/html"),
                ],
            )
        else:
            st.plotly_chart(views.small_multiples(trace, preset.small_multiples, columns=columns),
                            key=K("multiples"), theme=None, config=CHART_CONFIG)

    url.write(url_params, share.url_values(url_params))


player.run_in_fragment(P, draw_step)
