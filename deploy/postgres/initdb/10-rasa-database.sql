-- Rasa's tracker store gets a database of its own (table `events`), owned by the same role.
-- Runs once, when the PostgreSQL volume is first created.
CREATE DATABASE rasa OWNER chatbot;
