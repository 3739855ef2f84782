/*
 * dir_ckpt: checkpoints of the write-ahead log from a thread of their own,
 * for a writer that commits many big transactions in a row (a full sync).
 *
 * With SQLite's automatic checkpoints, the commit that takes the log past
 * 1,000 pages also copies the whole log into the database file, in the
 * writer's thread: 9% of the writer's time in a full sync of 100k users
 * (perf), on a machine whose other core was half idle.  Here the writer's
 * commits only append to the log; a hook after each commit wakes a thread
 * that checkpoints (PASSIVE: it never blocks the writer nor readers) on a
 * connection of its own.
 *
 * SQLite starts the log over only when a transaction begins while every
 * frame is in the database already.  A writer that begins its next batch
 * right after committing never sees that, so the log would grow with the
 * size of the sync.  So when the log has passed DIR_CKPT_WAIT_BYTES the
 * commit hook waits for one checkpoint that started after the commit: the
 * next batch then starts the log over.  The log stays bounded (a few
 * batches), and the writer waits for one in several checkpoints.
 *
 * Durability is SQLite's own: a checkpoint copies committed frames only,
 * and a crash at any point leaves a log that recovery replays.
 */
#include "dir_internal.h"

#include <pthread.h>
#include <stdlib.h>

/*
 * In bytes of log, turned into pages at start: a store keeps the page size
 * it was made with (4 KiB before 8 KiB became the default).
 */
#define DIR_CKPT_PAGES      1000              /* SQLite's own threshold, in pages */
#define DIR_CKPT_WAKE_BYTES (4 * 1024 * 1024) /* wake the checkpointer: 1000 4 KiB pages */
#define DIR_CKPT_WAIT_BYTES (64 * 1024 * 1024) /* then the writer lets it catch up */

struct dir_ckpt {
	sqlite3 *db; /* the checkpointer's own connection */
	int wake, wait; /* the thresholds above, in pages of this store */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long asked; /* checkpoints asked for (by commits) */
	unsigned long done;  /* checkpoints run to the end */
	int quit;
};

static void *dir_ckpt_main(void *arg)
{
	struct dir_ckpt *c = arg;
	unsigned long ran = 0;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		unsigned long want;
		while (!c->quit && c->asked == ran)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->quit)
			break;
		want = c->asked;
		pthread_mutex_unlock(&c->mu);
		/* Failure (busy, I/O) leaves the frames in the log: the next one, or
		 * SQLite's own checkpoints once this stops, copy them. */
		(void)sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL,
						NULL);
		pthread_mutex_lock(&c->mu);
		ran = want;
		c->done = want;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* After each commit of the writer, in its thread: frames is the log's length in pages. */
static int dir_ckpt_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct dir_ckpt *c = arg;
	unsigned long ticket;

	(void)db;
	(void)name;
	if (frames < c->wake)
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	ticket = ++c->asked;
	pthread_cond_broadcast(&c->cv);
	if (frames >= c->wait)
		while (c->done < ticket && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

int dir_ckpt_start(struct dir *d, struct err *err)
{
	struct dir_ckpt *c;
	int rc, page = 0;

	if (d->ckpt != NULL || d->read_only)
		return 0;
	if (dir_pragma_int(d, "PRAGMA page_size", &page, err) != 0)
		return err->code;
	if (page < 512)
		return err_set(err, ERR_CORRUPT, "the store's page size is %d bytes", page);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	c->wake = DIR_CKPT_WAKE_BYTES / page;
	c->wait = DIR_CKPT_WAIT_BYTES / page;
	if (sqlite3_open_v2(d->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = err_set(err, ERR_IO, "open a checkpointing connection: %s",
			     c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	sqlite3_busy_timeout(c->db, 1000);
	/* A connection opens the log at its first read; until then a checkpoint does nothing. */
	if (sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = err_set(err, ERR_IO, "checkpointing connection: %s", sqlite3_errmsg(c->db));
		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((rc = pthread_create(&c->thread, NULL, dir_ckpt_main, c)) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->db);
		free(c);
		return err_set(err, ERR_INTERNAL, "cannot start the checkpointer thread");
	}
	d->ckpt = c;
	/* replaces SQLite's automatic checkpoints on d */
	sqlite3_wal_hook(d->db, dir_ckpt_hook, c);
	return 0;
}

void dir_ckpt_stop(struct dir *d)
{
	struct dir_ckpt *c = d->ckpt;

	if (c == NULL)
		return;
	/* back to automatic checkpoints, which take over what is left in the log */
	sqlite3_wal_autocheckpoint(d->db, DIR_CKPT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->quit = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->db);
	free(c);
	d->ckpt = NULL;
}
