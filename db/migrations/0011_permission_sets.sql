CREATE TABLE "permission_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"permissions" text[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_permission_sets" (
	"user_id" uuid NOT NULL,
	"permission_set_id" uuid NOT NULL,
	CONSTRAINT "user_permission_sets_user_id_permission_set_id_pk" PRIMARY KEY("user_id","permission_set_id")
);
--> statement-breakpoint
ALTER TABLE "user_permission_sets" ADD CONSTRAINT "user_permission_sets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_permission_sets" ADD CONSTRAINT "user_permission_sets_permission_set_id_permission_sets_id_fk" FOREIGN KEY ("permission_set_id") REFERENCES "public"."permission_sets"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "permission_sets_name_key" ON "permission_sets" USING btree (lower(btrim("name")));--> statement-breakpoint
CREATE INDEX "user_permission_sets_set_idx" ON "user_permission_sets" USING btree ("permission_set_id");--> statement-breakpoint
-- Every existing non-admin user keeps what they could do: one set per distinct
-- old permission list. Before, any key read and wrote every customer,
-- conversation, KObject and event and read reports; `objects.delete` was one
-- delete for all three types. Bulk erasure and erasure through a GDPR request
-- now also need the erased type's delete permission, so holders of
-- searches.bulkDelete / gdpr.manage get those too, or they could not do what
-- they did before. The output names each set and how many users got it.
DO $$
DECLARE
  old text[];
  granted text[];
  set_name text;
  set_id uuid;
  given integer;
  total integer := 0;
BEGIN
  FOR old IN
    SELECT DISTINCT ARRAY(SELECT DISTINCT p FROM unnest(u.permissions) AS p ORDER BY p)
    FROM users u WHERE NOT u.is_admin
  LOOP
    granted := ARRAY['customers.read', 'customers.write', 'conversations.read', 'conversations.write',
      'kobjects.read', 'kobjects.write', 'events.read', 'events.write', 'reports.read'];
    IF old && ARRAY['objects.delete', 'searches.bulkDelete'] THEN
      granted := granted || ARRAY['customers.delete', 'conversations.delete', 'kobjects.delete'];
    END IF;
    IF 'gdpr.manage' = ANY(old) AND NOT granted @> ARRAY['customers.delete'] THEN
      granted := granted || ARRAY['customers.delete'];
    END IF;
    granted := granted || ARRAY(SELECT p FROM unnest(old) AS p
      WHERE p IN ('customers.merge', 'searches.read', 'searches.bulkDelete', 'gdpr.manage'));
    IF 'searches.bulkDelete' = ANY(old) AND NOT 'searches.read' = ANY(old) THEN
      granted := granted || ARRAY['searches.read'];
    END IF;
    set_name := 'As before permission sets: ' ||
      CASE WHEN cardinality(old) = 0 THEN 'read and write' ELSE 'read, write, ' || array_to_string(old, ', ') END;
    INSERT INTO permission_sets (name, description, permissions)
    VALUES (set_name, 'Made by migration 0011 for the users who held exactly these permissions before permission sets existed.', granted)
    RETURNING id INTO set_id;
    INSERT INTO user_permission_sets (user_id, permission_set_id)
    SELECT u.id, set_id FROM users u
    WHERE NOT u.is_admin AND ARRAY(SELECT DISTINCT p FROM unnest(u.permissions) AS p ORDER BY p) = old;
    GET DIAGNOSTICS given = ROW_COUNT;
    total := total + given;
    RAISE NOTICE 'permission set "%" (%) given to % user(s): %', set_name, set_id, given, array_to_string(granted, ' ');
  END LOOP;
  RAISE NOTICE 'permission sets: % existing non-admin user(s) keep what they could do before', total;
END $$;
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "permissions";