"""EM for Gaussian mixtures: ``mixture`` (the arithmetic: log-densities, E- and M-steps, the
public math), ``engine`` (the recorded run: snapshots, messages, checks), ``views`` (its
charts, tables and formulas), ``lessons`` (the worked examples) and ``hook`` (the home
page's picture)."""
