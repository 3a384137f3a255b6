ALTER TYPE "public"."job_type" ADD VALUE 'unmerge';--> statement-breakpoint
CREATE TABLE "merge_journal_items" (
	"job_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"object_id" uuid NOT NULL,
	"external_id" text,
	CONSTRAINT "merge_journal_items_job_id_kind_object_id_pk" PRIMARY KEY("job_id","kind","object_id"),
	CONSTRAINT "merge_journal_items_kind_check" CHECK ("merge_journal_items"."kind" in ('conversation', 'kobject', 'event', 'redirect'))
);
--> statement-breakpoint
CREATE TABLE "merge_journals" (
	"job_id" uuid PRIMARY KEY NOT NULL,
	"source_customer_id" uuid NOT NULL,
	"target_customer_id" uuid NOT NULL,
	"source" jsonb NOT NULL,
	"target_before" jsonb NOT NULL,
	"target_after" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "merge_keep_apart" (
	"customer_a" uuid NOT NULL,
	"customer_b" uuid NOT NULL,
	"job_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "merge_keep_apart_customer_a_customer_b_pk" PRIMARY KEY("customer_a","customer_b")
);
--> statement-breakpoint
ALTER TABLE "merge_journal_items" ADD CONSTRAINT "merge_journal_items_job_id_merge_journals_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."merge_journals"("job_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "merge_journals" ADD CONSTRAINT "merge_journals_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "merge_keep_apart" ADD CONSTRAINT "merge_keep_apart_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "merge_journals_source_idx" ON "merge_journals" USING btree ("source_customer_id");--> statement-breakpoint
CREATE INDEX "merge_journals_target_idx" ON "merge_journals" USING btree ("target_customer_id");--> statement-breakpoint
CREATE INDEX "merge_journals_expires_idx" ON "merge_journals" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "merge_keep_apart_b_idx" ON "merge_keep_apart" USING btree ("customer_b");