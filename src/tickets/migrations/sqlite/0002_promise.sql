-- What the agent promised the caller when it filed a callback ("we will call you back tomorrow after 3 pm").
ALTER TABLE tickets ADD COLUMN promise TEXT;
