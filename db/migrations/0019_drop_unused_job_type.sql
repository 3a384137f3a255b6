-- gdpr_erasure was never used by any job (erasures run as `delete` jobs); Postgres cannot drop an enum value, so the type is rebuilt without it.
ALTER TABLE "jobs" ALTER COLUMN "type" SET DATA TYPE text;--> statement-breakpoint
DROP TYPE "public"."job_type";--> statement-breakpoint
CREATE TYPE "public"."job_type" AS ENUM('merge', 'split', 'kobject_move', 'delete', 'bulk_delete', 'attribute_clear', 'export');--> statement-breakpoint
ALTER TABLE "jobs" ALTER COLUMN "type" SET DATA TYPE "public"."job_type" USING "type"::"public"."job_type";