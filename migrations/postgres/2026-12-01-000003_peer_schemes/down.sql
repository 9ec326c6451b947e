DROP TABLE peers;
