DROP TABLE idea_stages;
