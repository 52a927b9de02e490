"""Continuous LexRank over TF-IDF message vectors, without building the similarity graph.

LexRank (Erkan & Radev, 2004) ranks sentences — here, chat messages — by their centrality in a
graph whose edge weights are the cosine similarities of their TF-IDF vectors, scored with
PageRank's power iteration. With L2-normalised rows in a sparse matrix ``X`` (messages x
terms) the similarity matrix is ``S = X Xᵀ``; it is dense (2,000 messages give 4 million
pairs) but never needed: ``S v = X (Xᵀ v)`` costs two sparse products, so one iteration is
linear in the number of (message, term) entries. Self-similarity (the diagonal, 1 for every
message with a term) is subtracted so that a message does not vote for itself.

Everything is numpy over flat arrays (coordinate format) and deterministic: the same input
gives the same floats, and callers break ties on rounded scores by message id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DAMPING = 0.85
TOLERANCE = 1e-8
"""L1 change of the scores that ends the iteration (they sum to 1; ranks settle far earlier)."""
MAX_ITERATIONS = 100
_NO_LINK = 1e-12
"""A degree below this is floating-point noise: the message shares no term with another."""

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TermMatrix:
    """A sparse ``n x terms`` matrix in coordinate form, entries sorted by row.

    ``terms`` are local column indices (``0 .. width-1``); ``weights`` are L2-normalised per
    row, so the dot product of two rows is their cosine similarity.
    """

    rows: Ints
    terms: Ints
    weights: Floats
    n: int
    width: int

    def row(self, i: int) -> dict[int, float]:
        """Row ``i`` as ``{term: weight}`` (entries are sorted by row: two binary searches)."""
        lo, hi = np.searchsorted(self.rows, [i, i + 1])
        return dict(zip(self.terms[lo:hi].tolist(), self.weights[lo:hi].tolist(), strict=True))

    def norms(self) -> Floats:
        """Each row's squared L2 norm: 1 for a row with a term, 0 for an empty one."""
        return np.asarray(
            np.bincount(self.rows, weights=self.weights**2, minlength=self.n), dtype=np.float64
        )


def tfidf(rows: Ints, terms: Ints, counts: Ints, n: int) -> tuple[TermMatrix, Ints, Ints]:
    """The TF-IDF matrix of ``n`` documents from (row, term, count) triples, one per distinct
    term of a row, sorted by row.

    Term frequency is sublinear (``1 + ln count``: a word repeated ten times is not ten times
    the topic); inverse document frequency is smoothed (``ln((1 + n) / (1 + df)) + 1``, so that
    a term in every message still weighs something). Returns the matrix, the distinct input
    term ids (ascending; column ``j`` is ``vocabulary[j]``) and each one's document frequency.
    """
    vocabulary, columns = np.unique(terms, return_inverse=True)
    df = np.bincount(columns, minlength=vocabulary.size)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    weights = (1.0 + np.log(counts.astype(np.float64))) * idf[columns]
    norms = np.sqrt(np.bincount(rows, weights=weights**2, minlength=n))
    weights = weights / norms[rows]
    matrix = TermMatrix(rows, columns.astype(np.int64), weights, n, int(vocabulary.size))
    return matrix, vocabulary.astype(np.int64), df.astype(np.int64)


def _similarity_times(matrix: TermMatrix, v: Floats, self_similarity: Floats) -> Floats:
    """``(X Xᵀ − diag) v``: every row's similarity-weighted sum of ``v`` over the other rows."""
    per_term = np.bincount(
        matrix.terms, weights=matrix.weights * v[matrix.rows], minlength=matrix.width
    )
    per_row = np.bincount(
        matrix.rows, weights=matrix.weights * per_term[matrix.terms], minlength=matrix.n
    )
    return per_row - self_similarity * v


def lexrank(
    matrix: TermMatrix,
    damping: float = DAMPING,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Floats:
    """Each row's continuous-LexRank score (the scores sum to 1).

    The random walk follows an edge with probability proportional to its similarity and jumps
    to a uniformly chosen message with probability ``1 - damping``; a message that shares no
    term with any other (or has no term) only receives jumps and spreads its own score evenly.
    Iterates until the L1 change is below ``tolerance``.
    """
    n = matrix.n
    if n == 0:
        return np.zeros(0)
    self_similarity = matrix.norms()
    degree = _similarity_times(matrix, np.ones(n), self_similarity)
    linked = degree > _NO_LINK
    inverse_degree = np.divide(1.0, degree, out=np.zeros(n), where=linked)
    scores = np.full(n, 1.0 / n)
    for _ in range(max_iterations):
        flow = _similarity_times(matrix, scores * inverse_degree, self_similarity)
        dangling = scores[~linked].sum()
        updated = (1.0 - damping) / n + damping * (flow + dangling / n)
        change = np.abs(updated - scores).sum()
        scores = updated
        if change < tolerance:
            break
    return np.asarray(scores / scores.sum())


def cosine(a: dict[int, float], b: dict[int, float]) -> float:
    """The cosine similarity of two L2-normalised rows given as ``{term: weight}``."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())
