/*
 * Avro single-object encoding (SOE) interop check against the Apache Avro Java reference
 * implementation.  Run with the JDK 17 source launcher (no javac step):
 *
 *   java -cp '<jar dir>/*' AvroSoeInterop.java <manifest>
 *
 * The manifest has one line per datum, three tab-separated paths (blank lines and lines
 * starting with '#' are ignored):
 *
 *   <schema.json>  <bytes written by the hub>  <file to write the Java re-encoding to>
 *
 * For each line the program parses the (fully expanded) writer schema, decodes the hub's bytes
 * with a BinaryMessageDecoder that knows ONLY that schema (so a wrong fingerprint fails with
 * MissingSchemaException), rejects trailing bytes, re-encodes the record with
 * BinaryMessageEncoder and writes the Java bytes to the output file.  Logical types are left
 * unconverted (plain int/long), which round-trips byte for byte.
 *
 * Output on stdout, tab-separated, one line per distinct schema and one per datum:
 *
 *   schema  <schema.json>  <fingerprint: 16 hex chars, little-endian as on the wire>  <canonical form>
 *   ok      <hub bytes>    <java bytes>
 *   fail    <hub bytes>    <exception class>: <message>
 *
 * Exit status: 0 if every datum round-tripped, 1 if any failed, 2 on a usage or manifest error.
 */

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;

public class AvroSoeInterop {

  /** One writer schema with its own decoder and encoder. */
  private record Codec(
      Schema schema, BinaryMessageDecoder<GenericRecord> decoder, BinaryMessageEncoder<GenericRecord> encoder) {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: java -cp '<avro jars>/*' AvroSoeInterop.java <manifest>");
      System.exit(2);
    }
    List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
    Map<String, Codec> codecs = new HashMap<>();
    int failures = 0;
    int done = 0;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] cols = line.split("\t");
      if (cols.length != 3) {
        System.err.printf("manifest line %d: expected 3 tab-separated paths, got %d%n", i + 1, cols.length);
        System.exit(2);
      }
      String schemaPath = cols[0];
      String inPath = cols[1];
      String outPath = cols[2];
      try {
        Codec codec = codecs.get(schemaPath);
        if (codec == null) {
          codec = load(schemaPath);
          codecs.put(schemaPath, codec);
        }
        roundTrip(codec, Path.of(inPath), Path.of(outPath));
        System.out.println("ok\t" + inPath + "\t" + outPath);
        done++;
      } catch (Exception e) { // report every failing datum, not only the first
        failures++;
        String message = String.valueOf(e.getMessage()).replace('\t', ' ').replace('\n', ' ');
        System.out.println("fail\t" + inPath + "\t" + e.getClass().getName() + ": " + message);
        System.err.printf("FAILED %s (schema %s): %s: %s%n", inPath, schemaPath, e.getClass().getName(), message);
      }
    }
    System.out.flush();
    if (failures > 0) {
      System.err.printf("%d of %d datums failed the Avro Java single-object round trip%n", failures, failures + done);
      System.exit(1);
    }
  }

  private static Codec load(String schemaPath) throws IOException {
    Schema schema = new Schema.Parser().parse(Path.of(schemaPath).toFile());
    long fp = SchemaNormalization.parsingFingerprint64(schema);
    byte[] wire = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(fp).array();
    String canonical = SchemaNormalization.toParsingForm(schema);
    System.out.println("schema\t" + schemaPath + "\t" + HexFormat.of().formatHex(wire) + "\t" + canonical);
    GenericData model = GenericData.get();
    // A decoder that knows only this schema: any other fingerprint is a MissingSchemaException.
    return new Codec(schema, new BinaryMessageDecoder<>(model, schema), new BinaryMessageEncoder<>(model, schema));
  }

  private static void roundTrip(Codec codec, Path in, Path out) throws IOException {
    byte[] ours = Files.readAllBytes(in);
    ByteArrayInputStream stream = new ByteArrayInputStream(ours);
    GenericRecord record = codec.decoder().decode(stream);
    if (stream.available() != 0) {
      throw new IOException(stream.available() + " trailing bytes after the datum");
    }
    if (!record.getSchema().equals(codec.schema())) {
      throw new IOException("decoded record has schema " + record.getSchema().getFullName());
    }
    try (OutputStream os = Files.newOutputStream(out)) {
      codec.encoder().encode(record, os);
    }
  }
}
