"""The naive Bayes classifier over the TF-IDF rows: one class per entry, plus the
out-of-scope topics.

Kept sparse and grown by adding counts, so a learned phrasing or entry updates
the model exactly without a refit.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .vectorize import Postings


class NaiveBayes:
    """Multinomial naive Bayes over the TF-IDF rows, kept sparse.

    Per class c and feature f, log θ_cf = log(C_cf + α) − log(T_c + αV). Splitting
    out the zero counts gives score(c, q) = Σq·k_c + Σ_f q_f·log(1 + C_cf/α) with
    k_c = log α − log(T_c + αV): the second term is a sparse dot product, so the
    model costs memory in proportion to the counts, not classes × vocabulary,
    and a class or a document is added exactly by adding counts. Classes are
    equally likely a priori (the number of aliases says nothing about how often
    a question is asked). Equivalent to scikit-learn's MultinomialNB with
    fit_prior=False; a test checks that.
    """

    def __init__(self, counts: sp.csr_matrix, alpha: float):
        self.alpha = alpha
        width = counts.shape[1]
        self.totals = np.asarray(counts.sum(axis=1)).ravel()
        self.const = np.log(alpha) - np.log(self.totals + alpha * width)
        weights = counts.tocsr(copy=True)
        weights.data = np.log1p(weights.data / alpha)
        # only the weights are kept: the counts are α·expm1(w), recovered when a class grows
        self.weights = Postings(weights)

    @property
    def counts(self) -> sp.csr_matrix:
        counts = self.weights.matrix.tocsr().astype(np.float64)
        counts.data = np.expm1(counts.data) * self.alpha
        return counts

    @classmethod
    def fit(cls, rows: sp.csr_matrix, labels: np.ndarray, classes: int, alpha: float) -> "NaiveBayes":
        onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(classes, len(labels)))
        return cls(onehot @ rows, alpha)

    def add(self, cls_row: int, rows: sp.csr_matrix) -> "NaiveBayes":
        """A new model with `rows` counted for class `cls_row` (a new class when it is the next one)."""
        extra = sp.csr_matrix(rows.sum(axis=0))
        counts = self.counts
        if cls_row == counts.shape[0]:
            counts = sp.vstack([counts, extra], format="csr")
        else:
            bump = sp.csr_matrix((extra.data, (np.full(extra.nnz, cls_row), extra.indices)), shape=counts.shape)
            counts = (counts + bump).tocsr()
        return NaiveBayes(counts, self.alpha)

    def log_posterior(
        self, fids: np.ndarray, vals: np.ndarray, temperature: float = 1.0, log_prior: Optional[np.ndarray] = None
    ) -> np.ndarray:
        return self.posterior_from(self.weights.scores(fids, vals), float(vals.sum()), temperature, log_prior)

    def posterior_from(
        self, dot: np.ndarray, mass: float, temperature: float = 1.0, log_prior: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """Log posterior from the weights' dot product with the query and its total mass."""
        # naive Bayes is overconfident (its features are far from independent);
        # a temperature softens the likelihood without changing its ranking
        joint = (mass * self.const + dot) / temperature
        if log_prior is not None:
            joint = joint + log_prior
        top = joint.max()
        return joint - (top + math.log(np.add.reduce(np.exp(joint - top))))
