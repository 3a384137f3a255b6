CREATE TYPE "public"."job_item_status" AS ENUM('pending', 'done', 'failed', 'skipped');--> statement-breakpoint
CREATE TABLE "job_items" (
	"job_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"object_id" uuid NOT NULL,
	"status" "job_item_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "job_items_job_id_position_pk" PRIMARY KEY("job_id","position")
);
--> statement-breakpoint
ALTER TABLE "job_items" ADD CONSTRAINT "job_items_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "job_items_object_idx" ON "job_items" USING btree ("job_id","object_id");--> statement-breakpoint
CREATE INDEX "job_items_status_idx" ON "job_items" USING btree ("job_id","status","position");