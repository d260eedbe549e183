-- 005-bayes: the statistical (Bayes) classifier of the content filter.
-- Learned with "moatctl learn-spam|learn-ham", or by autolearn.

-- One row per token (64-bit hash of a word, a word pair, a header or URL
-- part): how many learned spam and ham messages held it. An INTEGER
-- PRIMARY KEY is SQLite's fastest B-tree: a learning batch sorts its
-- tokens and walks it in order.
CREATE TABLE bayes_tokens (
	token       INTEGER PRIMARY KEY,
	spam        INTEGER NOT NULL DEFAULT 0,
	ham         INTEGER NOT NULL DEFAULT 0
);

-- Messages learned of each class, and the generation: bumped by every
-- learning transaction so the daemons know their copy is stale.
CREATE TABLE bayes_state (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	spam        INTEGER NOT NULL DEFAULT 0,
	ham         INTEGER NOT NULL DEFAULT 0,
	generation  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO bayes_state (id) VALUES (1);

-- Which messages were learned as what (hash of Message-ID and body), so a
-- message is not counted twice and can be moved to the other class.
CREATE TABLE bayes_seen (
	message     INTEGER PRIMARY KEY,
	class       TEXT NOT NULL CHECK (class IN ('spam', 'ham')),
	time        INTEGER NOT NULL
);

-- What each learning transaction changed: packed (token, d_spam, d_ham)
-- triples, so a daemon with the tokens in memory applies the changes
-- instead of reading the whole table again. Old rows are pruned; a daemon
-- that finds a gap reloads.
CREATE TABLE bayes_journal (
	generation  INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	changes     BLOB NOT NULL
);

INSERT INTO symbols (name, weight, group_name, description) VALUES
	('BAYES_SPAM', 5.1, 'statistics', 'Bayes classifier: spam (weight scaled by the probability)'),
	('BAYES_HAM', -3.0, 'statistics', 'Bayes classifier: ham (weight scaled by the probability)');

INSERT INTO settings (name, value, description) VALUES
	('bayes_min_learns', '200',
	 'the Bayes classifier says nothing until it learned this many messages of each class'),
	('bayes_autolearn_spam', '6.0',
	 'autolearn (module option classifier-bayes autolearn): learn spam at or above this score'),
	('bayes_autolearn_ham', '-0.5',
	 'autolearn: learn ham at or below this score');

-- "What has the classifier learned?"
CREATE VIEW bayes_stats AS
	SELECT s.spam AS spam_messages, s.ham AS ham_messages,
	       (SELECT count(*) FROM bayes_tokens) AS tokens, s.generation AS generation
	FROM bayes_state s;
