"""Content run by campaign staff: live responses (NLG), the inbox of unanswered questions and
retraining, subscribers and broadcasts, quizzes, the help directory and the dashboard."""
