"""Content routes: quizzes played inside a conversation."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import audit
from api.content import quizzes
from api.content.deps import ContentStaff
from api.content.models import Quiz
from api.content.safe_words import check_quiz
from api.deps import ERROR_RESPONSES, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: quizzes"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class QuestionIn(BaseModel):
    text: str = Field(max_length=500)
    options: list[str] = Field(max_length=6)
    correct: int
    explanation: str = Field(max_length=1000)


class QuizIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=30)
    active: bool = True


@router.get("/quizzes")
def list_quizzes(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [quizzes.quiz_out(q) for q in db.scalars(select(Quiz).order_by(Quiz.id.desc()))]


def _save_quiz(db: Any, quiz: Quiz | None, body: QuizIn, user: Any) -> Quiz:
    try:
        questions = quizzes.validate_questions([q.model_dump() for q in body.questions])
    except quizzes.QuizError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    if quiz is None:
        quiz = Quiz(title=body.title, questions=questions, active=body.active, created_by=user.email)
        db.add(quiz)
    else:
        quiz.title, quiz.questions, quiz.active = body.title, questions, body.active
    db.flush()
    audit(db, user, "content.quiz.save", f"quiz:{quiz.id}", {"questions": len(questions)})
    db.commit()
    return quiz


@router.post("/quizzes", status_code=status.HTTP_201_CREATED)
def create_quiz(body: QuizIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    saved = _save_quiz(db, None, body, user)
    return {**quizzes.quiz_out(saved), "warnings": check_quiz(saved.questions)}


@router.put("/quizzes/{quiz_id}")
def update_quiz(quiz_id: RowId, body: QuizIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    quiz = db.get(Quiz, quiz_id)
    if quiz is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có bộ đố vui này. / No such quiz.")
    saved = _save_quiz(db, quiz, body, user)
    return {**quizzes.quiz_out(saved), "warnings": check_quiz(saved.questions)}
