CREATE TABLE "job_mentions" (
	"object_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	CONSTRAINT "job_mentions_object_id_job_id_pk" PRIMARY KEY("object_id","job_id")
);
--> statement-breakpoint
ALTER TABLE "job_mentions" ADD CONSTRAINT "job_mentions_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Jobs recorded before: every UUID their parameters and preview spell out (hand-written).
INSERT INTO "job_mentions" ("object_id", "job_id")
SELECT DISTINCT lower(m[1])::uuid, j.id
FROM "jobs" j,
  regexp_matches(j.params::text || ' ' || j.preview::text,
    '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})', 'g') AS m
WHERE j.preview IS NOT NULL;
