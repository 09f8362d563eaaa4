// Checks rendered Strimzi custom resources against Strimzi's own Java API model (io.strimzi:api from Maven Central).
//
//   java -cp "<jars of pom.xml>/*" StrimziCheck.java rendered.yaml...
//
// Every document whose apiVersion is kafka.strimzi.io/* is bound to the model class the Strimzi operator
// deserialises it with (Kafka, KafkaNodePool, KafkaTopic, KafkaUser). The check fails on: a kind or apiVersion
// Strimzi does not have, a wrong type or an unknown enum/discriminator value (Jackson errors), and any field the
// model does not know (Strimzi's UnknownPropertyPreserving keeps those in additionalProperties and the operator
// only warns about them; here they are errors). Prints one line per resource; exit 1 on any problem.
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.strimzi.api.kafka.model.common.UnknownPropertyPreserving;
import java.io.File;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

public class StrimziCheck {
    static final Map<String, Class<?>> KINDS = Map.of(
        "Kafka", io.strimzi.api.kafka.model.kafka.Kafka.class,
        "KafkaNodePool", io.strimzi.api.kafka.model.nodepool.KafkaNodePool.class,
        "KafkaTopic", io.strimzi.api.kafka.model.topic.KafkaTopic.class,
        "KafkaUser", io.strimzi.api.kafka.model.user.KafkaUser.class);
    static final List<String> VERSIONS = List.of("kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1");

    public static void main(String[] args) throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        ObjectMapper model = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
        int checked = 0;
        List<String> problems = new ArrayList<>();
        for (String path : args) {
            MappingIterator<JsonNode> docs = yaml.readerFor(JsonNode.class).readValues(new File(path));
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc == null || doc.isNull() || !doc.has("apiVersion")) continue;
                String api = doc.get("apiVersion").asText();
                if (!api.startsWith("kafka.strimzi.io/")) continue;
                String kind = doc.path("kind").asText();
                String name = kind + " " + doc.path("metadata").path("name").asText();
                if (!VERSIONS.contains(api)) { problems.add(name + ": unknown apiVersion " + api); continue; }
                Class<?> cls = KINDS.get(kind);
                if (cls == null) { problems.add(name + ": kind not checked by this tool: " + kind); continue; }
                try {
                    Object resource = model.treeToValue(doc, cls);
                    List<String> unknown = new ArrayList<>();
                    walk(resource, kind, unknown, new IdentityHashMap<>());
                    for (String u : unknown) problems.add(name + ": unknown field " + u);
                    checked++;
                    System.out.println("ok " + name);
                } catch (Exception e) {
                    problems.add(name + ": " + e.getMessage().split("\n")[0]);
                }
            }
        }
        for (String p : problems) System.out.println("INVALID " + p);
        System.out.println("strimzi-check: " + checked + " resources valid, " + problems.size() + " problems");
        System.exit(problems.isEmpty() && checked > 0 ? 0 : 1);
    }

    // recurse through the Strimzi model objects, collecting additionalProperties (fields the model does not know)
    static void walk(Object o, String path, List<String> out, Map<Object, Boolean> seen) throws Exception {
        if (o == null || seen.containsKey(o)) return;
        if (o instanceof Collection<?> c) { int i = 0; for (Object x : c) walk(x, path + "[" + i++ + "]", out, seen); return; }
        if (o instanceof Map<?, ?> m) { for (var e : m.entrySet()) walk(e.getValue(), path + "." + e.getKey(), out, seen); return; }
        if (!o.getClass().getName().startsWith("io.strimzi.api.")) return;
        seen.put(o, true);
        if (o instanceof UnknownPropertyPreserving u && u.getAdditionalProperties() != null) {
            for (String k : u.getAdditionalProperties().keySet()) out.add(path + "." + k);
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers())) continue;
            String n = m.getName();
            if (!(n.startsWith("get") || n.startsWith("is")) || n.equals("getClass") || n.equals("getAdditionalProperties")) continue;
            Object v;
            try { v = m.invoke(o); } catch (Exception e) { continue; }
            String field = n.startsWith("get") ? n.substring(3) : n.substring(2);
            walk(v, path + "." + Character.toLowerCase(field.charAt(0)) + field.substring(1), out, seen);
        }
    }
}
