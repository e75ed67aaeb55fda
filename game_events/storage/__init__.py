"""HDFS: its two clients behind one interface, the reader of the stream's checkpoint, the
parquet footer codec and the compaction and rewrite that use them all.

    fs.py               FileSystem: what the code here asks of an HDFS client
    webhdfs.py          WebHdfs: HDFS over HTTP, for everything without a Spark session
    hadoopfs.py         HadoopFs: HDFS through a Spark session's own Hadoop client
    checkpoint.py       the stream's last committed batch and its Kafka offsets
    parquet_footer.py   Thrift compact codec and footer surgery
    compaction.py       merges small landed files, atomically toward readers
    rewrite.py          rewrites merged files into large row groups (a Spark job)
"""
