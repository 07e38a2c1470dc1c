package mfaannotate.spark;

import java.io.IOException;
import java.io.OutputStream;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.BytesWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.RecordWriter;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;
import org.apache.hadoop.mapreduce.lib.output.PathOutputCommitter;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Writes each record's value, byte for byte, to a file of its own at the relative path given by its key,
 * below the output folder.
 *
 * <p>Files go to the task attempt's work folder of the output committer, never straight to the output:
 * the committer (Hadoop's {@code FileOutputCommitter}, or an S3A committer where one is configured) moves
 * them into place when the task, then the job, commits. A failed or speculative attempt therefore leaves
 * nothing behind, and a retried task writes the same names again.
 *
 * <p>Keys are relative paths made by the job from its own listing (no {@code ..}, no leading {@code /});
 * a key that is absolute or climbs out of the folder is refused.
 */
public class RelativePathOutputFormat extends FileOutputFormat<Text, BytesWritable> {
    /**
     * Saves records made in Python, {@code (relative path, bytes)} tuples as PySpark's
     * {@code _to_java_object_rdd()} gives them, below {@code output}, without a {@code _SUCCESS} marker.
     *
     * <p>PySpark's own {@code saveAsNewAPIHadoopFile} first runs a {@code take(1)} job to check that the
     * records are pairs, which would annotate the first files of a partition twice.
     */
    public static void save(JavaRDD<Object> records, String output) {
        Configuration conf = new Configuration(records.context().hadoopConfiguration());
        conf.setBoolean("mapreduce.fileoutputcommitter.marksuccessfuljobs", false);
        records.mapToPair(record -> {
            Object[] pair = (Object[]) record;
            return new Tuple2<>(new Text((String) pair[0]), new BytesWritable((byte[]) pair[1]));
        }).saveAsNewAPIHadoopFile(output, Text.class, BytesWritable.class, RelativePathOutputFormat.class, conf);
    }

    @Override
    public RecordWriter<Text, BytesWritable> getRecordWriter(TaskAttemptContext context) throws IOException {
        Path work = ((PathOutputCommitter) getOutputCommitter(context)).getWorkPath();
        FileSystem fs = WholeFiles.rawFileSystem(work, context.getConfiguration());
        return new RecordWriter<Text, BytesWritable>() {
            @Override
            public void write(Text key, BytesWritable value) throws IOException {
                String relpath = key.toString();
                if (relpath.isEmpty() || relpath.startsWith("/") || ("/" + relpath + "/").contains("/../")) {
                    throw new IOException("not a relative path below the output: " + relpath);
                }
                // The three-argument constructor takes the string as a path: `:` and `%` stay literal.
                Path target = new Path(work, new Path(null, null, relpath));
                try (OutputStream out = fs.create(target, false)) {
                    out.write(value.getBytes(), 0, value.getLength());
                }
            }

            @Override
            public void close(TaskAttemptContext ignored) {}
        };
    }
}
