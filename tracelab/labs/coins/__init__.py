"""EM beyond Gaussians: mixtures of coins. ``engine`` records EM for sets of tosses
(binomial, Do & Batzoglou's two coins) and for binary vectors (Bernoulli, binarised images);
``views`` draws the paper's table of expected heads and the likelihood surface EM climbs."""
