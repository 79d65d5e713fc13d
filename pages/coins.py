"""EM beyond Gaussians: two coins, single tosses and binary images, step by step."""

import numpy as np
import streamlit as st

from tracelab.data import DataError, Dataset, datasets, read_csv
from tracelab.labs.coins import engine as coins
from tracelab.labs.coins import views
from tracelab.ui import data_picker, entry, lab, player, runners, share, url

entry.through_app()

P = "cn"


def K(name: str) -> str:
    return f"{P}.{name}"


MODES = {
    "two-coins": "Two coins (Do & Batzoglou)",
    "single": "Single tosses",
    "images": "Binary images",
}
SETS = {"paper": "the paper's five sets", "generated": "generated sets"}
IMAGES = {"digits": "handwritten 2, 3 and 4", "upload": "my own binary CSV"}
MAX_SETS, MAX_TOSSES = 1_000, 1_000

PARAMS = [
    url.Param("mode", K("mode"), "two-coins", url.choice(list(MODES)), "mode"),
    url.Param("sets", K("sets"), "paper", url.choice(list(SETS)), "sets"),
    url.Param("nsets", K("nsets"), 20, url.integer(1, MAX_SETS), "number of sets"),
    url.Param("tosses", K("tosses"), 10, url.integer(1, MAX_TOSSES), "tosses per set"),
    url.Param("ta", K("ta"), 0.8, url.number(0.0, 1.0), "true θ_A"),
    url.Param("tb", K("tb"), 0.45, url.number(0.0, 1.0), "true θ_B"),
    url.Param("n1", K("n1"), 100, url.integer(2, 10_000), "number of tosses"),
    url.Param("p1", K("p1"), 0.7, url.number(0.0, 1.0), "heads rate"),
    url.Param("gseed", K("gseed"), 0, url.integer(0, 2**31 - 1), "data seed"),
    url.Param("a0", K("a0"), datasets.PAPER_START[0], url.number(0.01, 0.99), "start θ_A"),
    url.Param("b0", K("b0"), datasets.PAPER_START[1], url.number(0.01, 0.99), "start θ_B"),
    url.Param("fixed", K("fixed"), True, url.flag, "weights held"),
    url.Param("images", K("images"), "digits", url.choice(list(IMAGES)), "images"),
    url.Param("k", K("k"), 3, url.integer(1, 10), "number of components"),
    # From seed 3, ten iterations give one component per digit (98.7 % of the images with
    # their digit's component); from seed 0, EM settles with two components for the 4s
    # and a lower log-likelihood: a local maximum worth showing, not the first thing seen.
    url.Param("seed", K("seed"), 3, url.integer(0, 2**31 - 1), "seed"),
    url.Param("iter", K("iter"), 10, url.integer(1, 500), "max_iter"),
    url.Param("tol", K("tol"), 0.0, url.number(0.0, 10.0), "tol"),
    url.Param("row", K("row"), 1, url.integer(1, 10**6), "set or image of the formula"),
    *lab.view_params(P, plane=False),
    player.step_param(P),
]

lab.open_lab(P, "EM beyond Gaussians: coins and binary images", PARAMS)
PERSIST = data_picker.PERSIST

with st.sidebar:
    mode = st.radio("What EM fits", list(MODES), key=K("mode"), format_func=MODES.get, persist_state=PERSIST)
    st.subheader("Data")
    if mode == "two-coins":
        source = st.radio("Sets of tosses", list(SETS), key=K("sets"), format_func=SETS.get, persist_state=PERSIST)
        if source == "generated":
            st.number_input("Number of sets", 1, MAX_SETS, step=1, key=K("nsets"), persist_state=PERSIST)
            st.number_input("Tosses per set", 1, MAX_TOSSES, step=1, key=K("tosses"), persist_state=PERSIST)
            st.slider("True θ_A", 0.0, 1.0, step=0.01, key=K("ta"), persist_state=PERSIST)
            st.slider("True θ_B", 0.0, 1.0, step=0.01, key=K("tb"), persist_state=PERSIST)
            st.number_input("Data seed", 0, 2**31 - 1, step=1, key=K("gseed"), persist_state=PERSIST)
    elif mode == "single":
        st.number_input("Number of tosses", 2, 10_000, step=1, key=K("n1"), persist_state=PERSIST)
        st.slider("Heads rate of the tosses", 0.0, 1.0, step=0.01, key=K("p1"), persist_state=PERSIST)
        st.number_input("Data seed", 0, 2**31 - 1, step=1, key=K("gseed"), persist_state=PERSIST)
    else:
        images = st.radio("Images", list(IMAGES), key=K("images"), format_func=IMAGES.get, persist_state=PERSIST)
        if images == "upload":
            st.file_uploader("A CSV of 0/1 columns (one image a row)", type=["csv", "txt"], key=K("upload"),
                             help="Binary values only; a text column (e.g. what each image shows) is kept as "
                                  "its label and never given to EM.")
    st.subheader("EM")
    if mode == "images":
        st.number_input("Number of components k", 1, 10, step=1, key=K("k"), persist_state=PERSIST)
        st.number_input("Seed of the start", 0, 2**31 - 1, step=1, key=K("seed"), persist_state=PERSIST)
    else:
        st.slider("Start θ_A", 0.01, 0.99, step=0.01, key=K("a0"), persist_state=PERSIST)
        st.slider("Start θ_B", 0.01, 0.99, step=0.01, key=K("b0"), persist_state=PERSIST)
        st.toggle("Hold the weights at ½ (as the paper does)", key=K("fixed"), persist_state=PERSIST)
    st.number_input("max_iter", 1, 500, step=1, key=K("iter"), persist_state=PERSIST)
    st.number_input("tol (0: run every iteration)", 0.0, 10.0, step=1e-3, format="%.4f", key=K("tol"),
                    persist_state=PERSIST)


def two_coin_data() -> tuple[Dataset, str]:
    """Heads and tosses per set (columns "heads", "tosses"), and a line about them."""
    if mode == "single":
        n, p, seed = int(st.session_state[K("n1")]), float(st.session_state[K("p1")]), int(st.session_state[K("gseed")])
        heads = np.random.default_rng(seed).binomial(1, p, size=n)
        about = f"{n} single tosses drawn with heads probability {p:.2f} (seed {seed}): {int(heads.sum())} heads"
        tosses = np.ones(n)
    elif st.session_state[K("sets")] == "paper":
        heads = np.array(datasets.PAPER_HEADS)
        tosses = np.full(heads.shape, datasets.PAPER_TOSSES)
        about = "Do & Batzoglou's five sets of ten tosses: 5, 9, 8, 4 and 7 heads"
    else:
        n, t = int(st.session_state[K("nsets")]), int(st.session_state[K("tosses")])
        ta, tb, seed = float(st.session_state[K("ta")]), float(st.session_state[K("tb")]), int(st.session_state[K("gseed")])
        heads, truth = datasets.coin_sets(n, t, ta, tb, seed)
        tosses = np.full(heads.shape, t)
        about = (f"{n} sets of {t} tosses, each from coin A (θ = {ta:.2f}) or B (θ = {tb:.2f}) at random, seed {seed}; "
                 f"{int(np.sum(truth == 0))} of them from A")
    return Dataset(X=np.column_stack([heads, tosses]), columns=("heads", "tosses"), name="coin tosses"), about


def image_data() -> tuple[Dataset, str]:
    """The binary images: the packaged digits or the student's upload (the last good one on a refusal)."""
    if st.session_state[K("images")] == "digits":
        data = datasets.binary_digits()
        return data, "300 handwritten digits (100 each of 2, 3 and 4) as 8 × 8 binary images"
    uploaded = st.session_state.get(K("upload"))
    if uploaded is not None and st.session_state.get(K("upload.id")) != uploaded.file_id:
        st.session_state[K("upload.id")] = uploaded.file_id
        try:
            st.session_state[K("upload.data")] = read_csv(uploaded, name=uploaded.name)
            st.session_state[K("upload.error")] = None
        except DataError as exc:
            st.session_state[K("upload.error")] = str(exc)
    if st.session_state.get(K("upload.error")):
        st.error(st.session_state[K("upload.error")], icon="📄")
    data = st.session_state.get(K("upload.data"))
    if data is None:
        st.info("Choose a CSV of 0/1 columns in the sidebar (one image a row); until then, the digits.", icon="📄")
        return datasets.binary_digits(), "300 handwritten digits (100 each of 2, 3 and 4) as 8 × 8 binary images"
    return data, f"{data.name}: {data.n_samples} rows of {data.n_features} binary values"


max_iter, tol = int(st.session_state[K("iter")]), float(st.session_state[K("tol")])
if mode == "images":
    dataset, about = image_data()
    algo = "bernoulli_em"
    lab.clamp_k(K("k"), dataset.n_samples, what="components")
    params = dict(n_components=int(st.session_state[K("k")]), seed=int(st.session_state[K("seed")]),
                  max_iter=max_iter, tol=tol)
else:
    dataset, about = two_coin_data()
    algo = "binomial_em"
    params = dict(n_components=2, means_init=(float(st.session_state[K("a0")]), float(st.session_state[K("b0")])),
                  fixed_weights=bool(st.session_state[K("fixed")]), max_iter=max_iter, tol=tol)
choice = data_picker.DataChoice(
    dataset=dataset, source=algo,
    unshareable=("An uploaded file does not travel in a link."
                 if mode == "images" and st.session_state[K("images")] == "upload" else None))


def compute():
    n, d = dataset.n_samples, (1 if algo == "binomial_em" else dataset.n_features)
    cost = coins.work(n, d, int(params["n_components"]), max_iter)
    if cost > coins.WORK_BUDGET:
        raise ValueError(f"{n:,} rows × {d} values × k = {params['n_components']} × {max_iter} iterations is more "
                         "than one run may do on a server the class shares: lower max_iter or k, or use fewer rows.")
    return runners.run(algo, dataset, params, slot=P, stoppable=True)


trace, _, _, replay = lab.shown_trace(P, compute, choice)
if replay is not None:
    about = "Replayed trace file"
lab.trace_notes(P, trace, about)
url_params = PARAMS
binomial = trace.algorithm == "binomial_em"


def equations(step: int) -> None:
    """This model's E- and M-step beside the Gaussian ones, the current one highlighted."""
    phase = trace[step].phase
    if binomial:
        e = (r"r_{ij} = \frac{\alpha_j\,\theta_j^{h_i}(1-\theta_j)^{t_i-h_i}}"
             r"{\sum_l \alpha_l\,\theta_l^{h_i}(1-\theta_l)^{t_i-h_i}}")
        m = r"\theta_j = \frac{\sum_i r_{ij}\,h_i}{\sum_i r_{ij}\,t_i},\qquad \alpha_j = \frac{1}{n}\sum_i r_{ij}"
        words = ("Set i has hᵢ heads in tᵢ tosses; θⱼ is coin j's heads probability, αⱼ how often it is chosen. "
                 "The M-step is expected heads over expected tosses: with r ∈ {0, 1} it is counting.")
    else:
        e = (r"r_{ij} = \frac{\alpha_j \prod_d \mu_{jd}^{x_{id}}(1-\mu_{jd})^{1-x_{id}}}"
             r"{\sum_l \alpha_l \prod_d \mu_{ld}^{x_{id}}(1-\mu_{ld})^{1-x_{id}}}")
        m = r"\mu_j = \frac{\sum_i r_{ij}\,x_i}{\sum_i r_{ij}},\qquad \alpha_j = \frac{1}{n}\sum_i r_{ij}"
        words = "Image i has pixels x_id ∈ {0, 1}; μ_jd is component j's probability of a black pixel d."
    gauss_e = r"r_{ik} = \frac{\pi_k\,\mathcal{N}(x_i\mid\mu_k,\Sigma_k)}{\sum_l \pi_l\,\mathcal{N}(x_i\mid\mu_l,\Sigma_l)}"
    gauss_m = (r"\begin{aligned}\mu_k &= \frac{\sum_i r_{ik}\,x_i}{N_k},\qquad \pi_k = \frac{N_k}{n}\\"
               r"\Sigma_k &= \tfrac{1}{N_k}\textstyle\sum_i r_{ik}\,(x_i-\mu_k)(x_i-\mu_k)^{\!\top}\end{aligned}")
    st.caption(f"This model beside EM for Gaussians: the same recipe (write Q, differentiate, update). {words}")
    for name, ours, theirs, now in (("E-step", e, gauss_e, phase == "E"), ("M-step", m, gauss_m, phase == "M")):
        with st.container(border=now, key=f"{P}-eq-{name[0].lower()}"):
            st.markdown(f"**{name}**" + (" · this step" if now else ""))
            # one under the other: side by side, the two do not fit half a laptop's page each
            st.caption("This model")
            st.latex(ours)
            st.caption("Gaussian mixture, for comparison")
            st.latex(theirs)


def worked_formula(step: int) -> None:
    """r_ij with this step's numbers for the chosen set or image."""
    snap = trace[step]
    n = trace.X.shape[0]
    what = "set" if binomial else "image"
    row = int(st.number_input(f"The {what} worked out below", 1, n, step=1, key=K("row"),
                              persist_state=PERSIST)) - 1
    means = np.asarray(snap.means, dtype=np.float64).reshape(len(snap.weights), -1)
    weights = np.asarray(snap.weights, dtype=np.float64)
    if binomial:
        h, t = trace.X[row]
        r, _ = coins.e_step(np.array([[h]]), np.array([[t]]), means, weights)
        terms = [rf"{w:.2f}\cdot {th:.3f}^{{{int(h)}}}(1-{th:.3f})^{{{int(t - h)}}}" for w, th in zip(weights, means[:, 0])]
        st.markdown(f"With this step's θ and α, set {row + 1} ({int(h)} heads in {int(t)} tosses):")
        st.latex(rf"r_{{{row + 1}A}} = \frac{{{terms[0]}}}{{{terms[0]} + {terms[1]}}} = {r[0, 0]:.3f}"
                 if len(terms) == 2 else rf"r_{{{row + 1}1}} = {r[0, 0]:.3f}")
    else:
        x = trace.X[row]
        st.markdown(f"With this step's μ and α, image {row + 1} ({int(x.sum())} black pixels of {x.shape[0]}): "
                    "each component's α_j times the product of μ_jd over its black pixels and 1 − μ_jd over its "
                    "white ones, over their sum (computed with logarithms: the products are tiny).")
        st.dataframe(views.image_responsibilities(trace, step, row), hide_index=True,
                     column_config={"weight": st.column_config.NumberColumn(format="%.3f"),
                                    "r": st.column_config.NumberColumn(format="%.3f")})


def single_tosses_note() -> str:
    """Why EM stops on a ridge when every set is one toss, with this run's numbers."""
    m_steps = [snap for snap in trace if snap.phase in ("init", "M")]
    rates = [float(np.dot(snap.weights, np.ravel(snap.means))) for snap in m_steps]
    # the first M-step after which θ no longer moves
    still = next((i for i in range(1, len(m_steps))
                  if np.allclose(np.ravel(m_steps[i].means), np.ravel(m_steps[-1].means), atol=1e-9)), None)
    data_rate = float(trace.X[:, 0].mean())
    where = (f"θ stops moving after M-step {still}" if still is not None else "θ is still moving")
    return (f"With one toss per set, a toss's chance of heads is α_A θ_A + α_B θ_B whichever coin made it: every "
            f"pair of coins with that mixture rate fits the tosses equally well, so the surface is a flat ridge. "
            f"Here {where}, on the ridge where α_A θ_A + α_B θ_B = {rates[-1]:.3f}, the tosses' heads rate "
            f"({data_rate:.3f}); where on the ridge depends only on the start. The coins cannot be told apart: "
            f"the model is not identifiable from single tosses.")


def draw_step() -> None:
    stepped, spec = lab.step_player(P, trace, views.step_charts, {}, widths=[3, 2])
    step = stepped.step
    with lab.at_step(P):
        st.markdown(f"**Step {step + 1}** · {trace[step].message}")
        if binomial and trace.params["n_components"] == 2 and np.all(trace.X[:, 1] == 1):
            st.info(single_tosses_note(), icon="🪙")
        if binomial:
            table = views.sets_table(trace, step)
            shown = table.copy()
            for column in table.columns[3:]:
                # two decimals; the total row has no P(coin): blank, not "None"
                shown[column] = [("" if np.isnan(v) else f"{v:.2f}") for v in table[column]]
            # a row is 35 px, as is the header
            st.dataframe(shown, hide_index=True, height=min(35 * (len(table) + 1) + 3, 400))
            st.caption("As in the paper's figure: each set's chance of each coin, and the heads and tails each coin "
                       "is expected to have made. Expected heads over expected tosses in the total row are the next "
                       "M-step's θ.")
        draw_sections(step)
    url.write(url_params, share.url_values(url_params))


def draw_sections(step: int) -> None:
    sections = ["Equations", *([] if binomial else ["Images each component takes"]), "Share and export"]
    section = lab.section_picker(P, sections)
    if section == "Equations":
        equations(step)
        worked_formula(step)
    elif section == "Images each component takes":
        labels = dataset.labels if dataset.n_samples == trace.X.shape[0] and replay is None else None
        st.plotly_chart(views.top_images(trace, step, labels=labels), key=K("top"), theme=None,
                        config=lab.CHART_CONFIG)
    else:
        lab.share_section(P, trace, url_params, choice=choice, replay=replay, check=coins.check_trace, files=[])


player.run_in_fragment(P, draw_step)
