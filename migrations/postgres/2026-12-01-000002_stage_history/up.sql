-- Every stage an idea has been in, with the answer given when it moved there, so the idea's
-- page can show its timeline. Existing ideas start with their current stage.
CREATE TABLE idea_stages (
    id SERIAL PRIMARY KEY,
    idea_id INTEGER NOT NULL REFERENCES ideas (id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    answer TEXT,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX idea_stages_idea_id ON idea_stages (idea_id, changed_at);
INSERT INTO idea_stages (idea_id, stage, answer, changed_at)
    SELECT id, stage, stage_answer, updated FROM ideas;
