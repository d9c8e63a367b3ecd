"""A: GET /api/comments -> the seed's comment list."""
from benchdata import COMMENTS


def get(req, res):
    return COMMENTS
