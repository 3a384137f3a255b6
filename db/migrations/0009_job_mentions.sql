ALTER TABLE "jobs" ADD COLUMN "mentions" uuid[] DEFAULT '{}'::uuid[] NOT NULL;--> statement-breakpoint
-- Jobs recorded before: every UUID their parameters and preview spell out (hand-written).
UPDATE "jobs" SET "mentions" = ARRAY(
  SELECT DISTINCT lower(m[1])::uuid
  FROM regexp_matches(params::text || ' ' || preview::text,
    '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})', 'g') AS m)
WHERE "preview" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_mentions_idx" ON "jobs" USING gin ("mentions");