package mfaannotate.spark;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

/**
 * Listing, reading and writing whole files through the Hadoop FileSystem of each path (local, hdfs://,
 * s3a://, ...), for the PySpark job {@code mfa_annotate_spark.py}.
 *
 * <p>Why not {@code sc.binaryFiles}: its input format skips every file whose name starts with {@code _} or
 * {@code .} (the local tool annotates them), needs a setting to descend into folders, and reads every file
 * whole before Python sees it, so a file over the 2 GB record limit fails the job instead of being refused.
 * Here the driver lists once ({@link #list}), decides which files to read and how to group them into
 * partitions, and the executors read exactly those ({@link #read}).
 *
 * <p>Strings cross py4j as NUL-separated UTF-8 byte arrays: one call for the whole listing instead of
 * several calls per file. Paths travel as encoded URIs, which (unlike {@code Path.toString()}) survive a
 * round trip whatever the name holds ({@code :}, {@code %}, spaces).
 *
 * <p>On the local file system the checksummed wrapper is bypassed: it would hide and write {@code .crc}
 * files, which the mirrored output tree must not contain.
 */
public final class WholeFiles {
    private WholeFiles() {}

    /** The file system of {@code path}, without the client-side checksum layer of the local one. */
    public static FileSystem rawFileSystem(Path path, Configuration conf) throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        return fs instanceof ChecksumFileSystem ? ((ChecksumFileSystem) fs).getRawFileSystem() : fs;
    }

    /** The fully qualified URI of {@code path} (scheme, authority, absolute path), as a string. */
    public static String qualify(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        return rawFileSystem(p, conf).makeQualified(p).toUri().toString();
    }

    /** Whether {@code uri} exists. */
    public static boolean exists(String uri, Configuration conf) throws IOException {
        Path p = toPath(uri);
        return rawFileSystem(p, conf).exists(p);
    }

    /**
     * Every regular file below each root (NUL-separated UTF-8 roots, taken literally: no globs).
     *
     * <p>Returns NUL-terminated fields, four per entry: {@code F}, the path relative to its root (a root
     * that is a file gives its own name), the length in bytes, the file's URI; or, for a root that cannot
     * be listed, {@code E}, the root as given, an empty field, the reason.
     */
    public static byte[] list(Configuration conf, byte[] rootsNul) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String root : split(rootsNul)) {
            try {
                Path given = new Path(root);
                FileSystem fs = rawFileSystem(given, conf);
                Path top = fs.makeQualified(given);
                FileStatus status = fs.getFileStatus(top);
                if (status.isFile()) {
                    entry(out, "F", top.getName(), Long.toString(status.getLen()), top.toUri().toString());
                    continue;
                }
                String prefix = top.toUri().getPath();
                if (!prefix.endsWith("/")) {
                    prefix += "/";
                }
                RemoteIterator<LocatedFileStatus> files = fs.listFiles(top, true);
                while (files.hasNext()) {
                    LocatedFileStatus f = files.next();
                    String abs = f.getPath().toUri().getPath();
                    if (!abs.startsWith(prefix)) {
                        throw new IOException("listing gave " + abs + ", which is not below " + prefix);
                    }
                    entry(out, "F", abs.substring(prefix.length()), Long.toString(f.getLen()),
                            f.getPath().toUri().toString());
                }
            } catch (FileNotFoundException e) {
                entry(out, "E", root, "", "no such file or folder");
            } catch (IOException | IllegalArgumentException e) {
                entry(out, "E", root, "", e.toString());
            }
        }
        return out.toByteArray();
    }

    /**
     * An RDD of one partition per group, whose records are the files' whole contents.
     *
     * @param spec NUL-terminated fields, three per file: partition index, relative path, URI
     * @param partitions the number of partitions (indexes in {@code spec} are below it)
     * @param maxBytes a file that has grown past this since the listing becomes an error record
     * @return records {@code ("F" + relpath, bytes)}, or {@code ("E" + relpath, UTF-8 reason)} for a file
     *     that could not be read; files are read one at a time, when the record is consumed
     */
    public static JavaPairRDD<String, byte[]> read(
            JavaSparkContext jsc, byte[] spec, int partitions, long maxBytes) {
        List<String> fields = split(spec);
        List<ArrayList<String>> groups = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            groups.add(new ArrayList<String>());
        }
        for (int i = 0; i + 2 < fields.size(); i += 3) {
            ArrayList<String> group = groups.get(Integer.parseInt(fields.get(i)));
            group.add(fields.get(i + 1));
            group.add(fields.get(i + 2));
        }
        Broadcast<SerializableConfiguration> conf =
                jsc.broadcast(new SerializableConfiguration(jsc.hadoopConfiguration()));
        // parallelize puts exactly one element in each slice when there are as many slices as elements.
        return jsc.parallelize(groups, partitions)
                .flatMapToPair(group -> new GroupReader(group, conf.value().value(), maxBytes));
    }

    /** Writes {@code data} to {@code uri}, replacing it (for the driver's summary and errors files). */
    public static void write(String uri, byte[] data, Configuration conf) throws IOException {
        Path p = toPath(uri);
        try (OutputStream out = rawFileSystem(p, conf).create(p, true)) {
            out.write(data);
        }
    }

    /** Deletes {@code uri} and everything below it. */
    public static void delete(String uri, Configuration conf) throws IOException {
        Path p = toPath(uri);
        rawFileSystem(p, conf).delete(p, true);
    }

    /** Reads the files of one group lazily, so that one file at a time is held in memory. */
    private static final class GroupReader implements Iterator<Tuple2<String, byte[]>> {
        private final List<String> group;
        private final Configuration conf;
        private final long maxBytes;
        private int next = 0;

        GroupReader(List<String> group, Configuration conf, long maxBytes) {
            this.group = group;
            this.conf = conf;
            this.maxBytes = maxBytes;
        }

        @Override
        public boolean hasNext() {
            return next < group.size();
        }

        @Override
        public Tuple2<String, byte[]> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            String relpath = group.get(next);
            String uri = group.get(next + 1);
            next += 2;
            try {
                return new Tuple2<>("F" + relpath, readAll(toPath(uri), conf, maxBytes));
            } catch (IOException | IllegalArgumentException e) {
                String reason = e instanceof FileNotFoundException ? "no such file" : e.toString();
                return new Tuple2<>("E" + relpath, reason.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /** The whole content of {@code path}; an error past {@code maxBytes}, checked while reading. */
    static byte[] readAll(Path path, Configuration conf, long maxBytes) throws IOException {
        FileSystem fs = rawFileSystem(path, conf);
        long len = fs.getFileStatus(path).getLen();
        if (len > maxBytes) {
            throw new IOException("file is " + len + " bytes, more than the limit of " + maxBytes);
        }
        byte[] buf = new byte[(int) len];
        int n = 0;
        try (InputStream in = fs.open(path)) {
            while (true) {
                if (n == buf.length) {
                    // Full: the usual end of the file (no copy), or it has grown since it was listed.
                    int b = in.read();
                    if (b < 0) {
                        break;
                    }
                    if (buf.length >= maxBytes) {
                        throw new IOException("file grew past the limit of " + maxBytes + " bytes while read");
                    }
                    buf = Arrays.copyOf(buf, (int) Math.min(maxBytes, Math.max(2L * buf.length, 65536)));
                    buf[n++] = (byte) b;
                    continue;
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    static Path toPath(String uri) {
        try {
            return new Path(new URI(uri));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URI: " + uri, e);
        }
    }

    private static void entry(ByteArrayOutputStream out, String... fields) {
        for (String f : fields) {
            byte[] b = f.getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
            out.write(0);
        }
    }

    /** NUL-terminated UTF-8 fields (a last field without its NUL is taken too). */
    private static List<String> split(byte[] data) {
        if (data == null || data.length == 0) {
            return Collections.emptyList();
        }
        List<String> fields = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == 0) {
                if (i > start || i < data.length) {
                    fields.add(new String(data, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return fields;
    }
}
