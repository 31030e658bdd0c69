"""Staff-written multiple-choice quizzes played inside a conversation, state in the database."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content.directory import fold
from api.content.models import Quiz, QuizSession
from api.content.subscriptions import normalise_command
from api.db.base import utcnow
from api.messaging.models import Conversation
from api.messaging.texts import UserText, UserTexts

START_WORDS = frozenset({"đố vui", "do vui", "/quiz", "quiz", "chơi đố vui", "choi do vui"})
STOP_WORDS = frozenset({"dừng", "dừng lại", "/stop", "stop", "thôi", "dừng đố vui", "/quiz_stop"})
_START_WITH_ID_RE = re.compile(r"^/quiz (\d+)$")
_ANSWER_RE = re.compile(r"^/quiz_answer (\d+) (\d+) (\d+)$")


# What the quiz says around the staff's questions; edited in the content console like any response.
QUIZ_INTRO = UserText("utter_quiz_intro",
                      "🎯 Đố vui: {title}. Có {count} câu, bạn chọn một đáp án nhé! (Nhắn \"dừng\" để dừng.)")
QUIZ_QUESTION = UserText("utter_quiz_question", "❓ Câu {number}/{count}: {question}")
QUIZ_CORRECT = UserText("utter_quiz_correct", "✅ Đúng rồi!")
QUIZ_WRONG = UserText("utter_quiz_wrong", "Chưa đúng rồi. Đáp án đúng là: {answer}.")
QUIZ_ALREADY_ANSWERED = UserText("utter_quiz_already_answered",
                                 "Câu đó bạn đã trả lời rồi. Mình đang ở câu này nhé:")
QUIZ_FINISHED = UserText(
    "utter_quiz_finished",
    "🎉 Bạn trả lời đúng {correct}/{count} câu. Cảm ơn bạn đã chơi! Nếu có chuyện gì làm bạn lo lắng, "
    "hãy nhắn cho mình hoặc gọi 111 (miễn phí, cả ngày lẫn đêm).")
QUIZ_STOPPED = UserText(
    "utter_quiz_stopped",
    "Mình dừng đố vui nhé. Muốn chơi lại, bạn nhắn \"đố vui\". "
    "(Muốn ngừng nhận tin của chương trình, bạn nhắn \"huỷ đăng ký\".)")
QUIZ_ENDED = UserText("utter_quiz_ended", "Đố vui này đã kết thúc rồi. Bạn nhắn \"đố vui\" để chơi bộ mới nhé.")
QUIZ_NONE = UserText("utter_quiz_none", "Hiện chưa có đố vui nào. Bạn quay lại sau nhé!")


@dataclass(frozen=True)
class QuizVoice:
    """The quiz's lines for one conversation, rendered from the live content."""
    session: Session
    texts: UserTexts
    channel: str | None

    def say(self, text: UserText, **values: Any) -> str:
        return self.texts.text(self.session, text, self.channel, values)

    def reply(self, text: UserText, **values: Any) -> dict[str, Any]:
        return {"text": self.say(text, **values)}


class QuizError(ValueError):
    pass


def validate_questions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not raw:
        raise QuizError("Cần ít nhất một câu hỏi. / At least one question is required.")
    questions = []
    for number, item in enumerate(raw, start=1):
        text = str(item.get("text") or "").strip()
        options = [str(o).strip() for o in item.get("options") or [] if str(o).strip()]
        correct = item.get("correct")
        explanation = str(item.get("explanation") or "").strip()
        if not text or len(options) < 2 or len(options) > 6:
            raise QuizError(f"Câu {number}: cần nội dung và 2–6 lựa chọn. / Question {number}: needs text "
                            f"and 2–6 options.")
        if not isinstance(correct, int) or not 0 <= correct < len(options):
            raise QuizError(f"Câu {number}: chưa chọn đáp án đúng. / Question {number}: no valid correct option.")
        if not explanation:
            raise QuizError(f"Câu {number}: cần lời giải thích. / Question {number}: an explanation is required.")
        questions.append({"text": text, "options": options, "correct": correct, "explanation": explanation})
    return questions


def running_session(session: Session, conversation: Conversation) -> QuizSession | None:
    return session.scalar(select(QuizSession).where(QuizSession.conversation_id == conversation.id,
                                                    QuizSession.finished.is_(False))
                          .order_by(QuizSession.id.desc()).limit(1))


def question_message(voice: QuizVoice, quiz: Quiz, quiz_session: QuizSession) -> dict[str, Any]:
    index = quiz_session.question_index
    question = quiz.questions[index]
    return {
        "text": voice.say(QUIZ_QUESTION, number=index + 1, count=len(quiz.questions), question=question["text"]),
        "buttons": [{"title": option, "payload": f"/quiz_answer {quiz_session.id} {index} {k}"}
                    for k, option in enumerate(question["options"])],
    }


def start_quiz(voice: QuizVoice, conversation: Conversation, quiz: Quiz) -> list[dict[str, Any]]:
    session = voice.session
    for old in session.scalars(select(QuizSession).where(QuizSession.conversation_id == conversation.id,
                                                         QuizSession.finished.is_(False))):
        old.finished = True
    quiz_session = QuizSession(conversation_id=conversation.id, quiz_id=quiz.id)
    session.add(quiz_session)
    session.flush()
    intro = voice.reply(QUIZ_INTRO, title=quiz.title, count=len(quiz.questions))
    return [intro, question_message(voice, quiz, quiz_session)]


def _chosen_option(text: str, question: dict[str, Any], quiz_session: QuizSession) -> int | None:
    command = normalise_command(text)
    match = _ANSWER_RE.match(command)
    if match:
        session_id, index, option = (int(g) for g in match.groups())
        if session_id != quiz_session.id or index != quiz_session.question_index:
            return -1  # a button from an earlier question or quiz
        return option if option < len(question["options"]) else None
    if command.isdigit() and 1 <= int(command) <= len(question["options"]):
        return int(command) - 1
    folded = fold(text)
    for k, option in enumerate(question["options"]):
        if folded and folded == fold(option):
            return k
    return None


def answer(voice: QuizVoice, conversation: Conversation, text: str) -> list[dict[str, Any]] | None:
    """Replies for a message while a quiz runs, or None when the message is not about the quiz
    (it then goes to Rasa as usual: a child may say something important mid-quiz)."""
    session = voice.session
    quiz_session = running_session(session, conversation)
    if quiz_session is None:
        return None
    quiz = session.get(Quiz, quiz_session.quiz_id)
    if quiz is None:
        quiz_session.finished = True
        return None
    if normalise_command(text) in STOP_WORDS:
        quiz_session.finished = True
        return [voice.reply(QUIZ_STOPPED)]
    question = quiz.questions[quiz_session.question_index]
    chosen = _chosen_option(text, question, quiz_session)
    if chosen is None:
        return None
    if chosen == -1:
        return [voice.reply(QUIZ_ALREADY_ANSWERED), question_message(voice, quiz, quiz_session)]
    correct = chosen == question["correct"]
    if correct:
        quiz_session.correct_answers += 1
        verdict = voice.say(QUIZ_CORRECT)
    else:
        verdict = voice.say(QUIZ_WRONG, answer=question["options"][question["correct"]])
    replies: list[dict[str, Any]] = [{"text": f"{verdict}\n{question['explanation']}"}]
    quiz_session.question_index += 1
    quiz_session.updated_at = utcnow()
    if quiz_session.question_index >= len(quiz.questions):
        quiz_session.finished = True
        replies.append(voice.reply(QUIZ_FINISHED, correct=quiz_session.correct_answers,
                                   count=len(quiz.questions)))
    else:
        replies.append(question_message(voice, quiz, quiz_session))
    return replies


def start_requested(voice: QuizVoice, conversation: Conversation, text: str) -> list[dict[str, Any]] | None:
    """"đố vui" / "/quiz" starts the newest active quiz; "/quiz 3" (a broadcast button) that quiz."""
    session = voice.session
    command = normalise_command(text)
    match = _START_WITH_ID_RE.match(command)
    quiz: Quiz | None
    if match:
        quiz = session.get(Quiz, int(match.group(1)))
        if quiz is None or not quiz.active:
            return [voice.reply(QUIZ_ENDED)]
    elif command in START_WORDS:
        quiz = session.scalar(select(Quiz).where(Quiz.active.is_(True)).order_by(Quiz.id.desc()).limit(1))
        if quiz is None:
            return [voice.reply(QUIZ_NONE)]
    else:
        return None
    return start_quiz(voice, conversation, quiz)


def quiz_out(quiz: Quiz) -> dict[str, Any]:
    return {"id": quiz.id, "title": quiz.title, "questions": quiz.questions, "active": quiz.active,
            "created_by": quiz.created_by, "created_at": quiz.created_at.isoformat()}
