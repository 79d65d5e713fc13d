"""EM for Gaussian mixtures: ``engine`` (the recorded run), ``views`` (its charts, tables and
formulas), ``lessons`` (the worked examples) and ``hook`` (the home page's picture)."""
