"""The evaluation area's refusals."""

from schoolmgr.errors import DomainError


class EvaluationError(DomainError):
    pass
